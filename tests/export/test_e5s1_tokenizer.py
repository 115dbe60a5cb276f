import numpy as np
from tokenizers import normalizers

from export.e5s1 import Vocabulary
from export.e5s1_tokenizer import build_tokenizer, compile_charsmap

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581hello", "\u2581fi", "\u2581world", "\u2581", "h", "<mask>"]
LIGATURE_FI, SOFT_HYPHEN, FULLWIDTH_A = 0xFB01, 0x00AD, 0xFF21


def small_vocabulary():
    scores = np.array([0, 0, 0, 0, -1, -2, -3, -4, -5, 0], dtype=np.float32)
    return Vocabulary(PIECES, scores, bos_id=0, eos_id=2, pad_id=1, unk_id=3)


def test_compiled_charsmap_applies_each_rule():
    charsmap = compile_charsmap({LIGATURE_FI: (ord("f"), ord("i")), SOFT_HYPHEN: (), FULLWIDTH_A: (ord("A"),)})
    normalizer = normalizers.Precompiled(charsmap)
    assert normalizer.normalize_str("\ufb01x\u00ad\uff21") == "fixA"


def test_tokenizer_normalises_splits_on_metaspace_and_adds_specials():
    tokenizer = build_tokenizer(small_vocabulary(), {LIGATURE_FI: (ord("f"), ord("i"))}, max_length=16)
    encoding = tokenizer("hello \ufb01   world ")
    assert tokenizer.convert_ids_to_tokens(encoding["input_ids"]) == [
        "<s>", "\u2581hello", "\u2581fi", "\u2581world", "</s>"]
    assert "token_type_ids" not in encoding
    assert tokenizer.model_max_length == 16


def test_unknown_characters_become_unk():
    tokenizer = build_tokenizer(small_vocabulary(), {}, max_length=16)
    assert tokenizer("hello \u03a9")["input_ids"] == [0, 4, 7, 3, 2]


def test_tokenizer_round_trips_through_save_pretrained(tmp_path):
    from transformers import AutoTokenizer

    build_tokenizer(small_vocabulary(), {}, max_length=16).save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.is_fast
    assert loaded("hello world")["input_ids"] == [0, 4, 6, 2]
    assert (loaded.pad_token_id, loaded.mask_token_id) == (1, 9)
