"""The teacher: its embeddings equal the engine's encoder's, truncated like the student's, cached once."""

import numpy as np
import pytest

from engine.encoder import Encoder
from engine.errors import EngineError
from export.parity_texts import PASSAGES
from train.teacher import Teacher


@pytest.fixture
def teacher(tiny_bundle, tmp_path):
    return Teacher(tiny_bundle, cache_root=tmp_path / "teachers")


def test_embeddings_are_the_fp32_encoder_s(teacher, tiny_bundle):
    texts = PASSAGES[:5]
    teacher.prepare({(text, 64) for text in texts}, "passage: ")
    expected = Encoder(tiny_bundle, variant="fp32", device="cpu").encode(texts, "passage: ")
    np.testing.assert_allclose(teacher.get(texts, "passage: ", 64), expected, atol=1e-6)


def test_each_text_is_truncated_to_its_own_length(teacher, tiny_bundle):
    text = " ".join(PASSAGES[:4])
    teacher.prepare({(text, 8), (text, 64)}, "passage: ")
    short, long = teacher.get([text], "passage: ", 8), teacher.get([text], "passage: ", 64)
    assert not np.allclose(short, long)
    encoder = Encoder(tiny_bundle, variant="fp32", device="cpu")
    encoder.tokenizer.enable_truncation(8)
    np.testing.assert_allclose(short, encoder.embed([encoder.tokenizer.encode("passage: " + text)]), atol=1e-6)


def test_a_second_teacher_reads_the_cache_without_encoding(teacher, tiny_bundle, tmp_path, monkeypatch):
    texts = {(text, 32) for text in PASSAGES[:6]}
    teacher.prepare(texts, "query: ")
    again = Teacher(tiny_bundle, cache_root=tmp_path / "teachers")
    monkeypatch.setattr(again, "_encode", lambda *args: pytest.fail("encoded a cached text"))
    again.prepare(texts, "query: ")
    np.testing.assert_array_equal(again.get(PASSAGES[:6], "query: ", 32), teacher.get(PASSAGES[:6], "query: ", 32))


def test_unprepared_texts_are_a_bug_not_a_silent_encode(teacher):
    with pytest.raises(RuntimeError, match="never prepared"):
        teacher.get(["never seen"], "query: ", 32)


def test_a_student_of_another_size_or_tokenizer_is_refused(teacher):
    vocabulary = teacher.encoder.tokenizer.get_vocab()
    teacher.check_student(teacher.dimension, vocabulary)
    with pytest.raises(EngineError, match="embeds in 32 dimensions but the student in 64"):
        teacher.check_student(64, vocabulary)
    with pytest.raises(EngineError, match="another tokenizer than the student"):
        teacher.check_student(teacher.dimension, {**vocabulary, "extra-token": len(vocabulary)})
