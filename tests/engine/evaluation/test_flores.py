"""FLORES-200: the language-code table, the reader's errors, and the bitext-retrieval benchmark."""

import pytest

from engine.encoder import Encoder
from engine.errors import EngineError
from engine.evaluation.evaluate import EvalOptions, evaluate
from engine.evaluation.flores import (
    DEFAULT_LANGUAGES,
    ENGINE_CODES,
    FLORES_CODES,
    flores_code,
    load_flores_benchmark,
    read_flores,
    read_flores_file,
)
from engine.languages import check_language_code

from .conftest import FLORES_IDS, FLORES_SENTENCES, write_flores


def test_the_table_maps_every_flores_code_to_one_valid_engine_code():
    assert len(FLORES_CODES) == 205 and len(ENGINE_CODES) == 205  # no two FLORES codes share an engine code
    for flores, code in FLORES_CODES.items():
        assert check_language_code(code, "table") == code, flores
    assert [FLORES_CODES[code] for code in ("yor_Latn", "swh_Latn", "tel_Telu", "ben_Beng", "tha_Thai",
                                            "hin_Deva")] == ["yo", "sw", "te", "bn", "th", "hi"]
    assert FLORES_CODES["arb_Arab"] == "ar" and FLORES_CODES["arb_Latn"] == "ar-Latn"
    assert FLORES_CODES["zho_Hans"] == "zh" and FLORES_CODES["zho_Hant"] == "zh-Hant"
    assert flores_code("yo") == "yor_Latn"
    with pytest.raises(EngineError, match="FLORES-200 has no language 'xx'"):
        flores_code("xx")


@pytest.mark.data
def test_every_language_dir_of_the_shared_data_is_in_the_table(shared_data):
    dirs = {path.name for path in (shared_data / "flores200-sib").iterdir() if path.is_dir()}
    assert dirs == set(FLORES_CODES)
    sentences = read_flores(shared_data, "dev", list(DEFAULT_LANGUAGES))
    assert all(len(by_id) == 99 for by_id in sentences.values())
    assert len(set.intersection(*(set(by_id) for by_id in sentences.values()))) == 99


@pytest.mark.parametrize("content, message", [
    ("id\tcategory\ttext\n3\tx\ty\n", r"dev.tsv:1: expected the header"),
    ("index_id\tcategory\ttext\n3\ttravel\n", r"dev.tsv:2: expected 3 tab-separated fields, got 2"),
    ("index_id\tcategory\ttext\nseven\ttravel\tA sentence.\n", r"dev.tsv:2: index_id 'seven' is not a number"),
    ("index_id\tcategory\ttext\n3\ttravel\t  \n", r"dev.tsv:2: empty text"),
    ("index_id\tcategory\ttext\n3\ttravel\tOne.\n3\ttravel\tTwo.\n", r"dev.tsv:3: index_id 3 is listed twice"),
    ("index_id\tcategory\ttext\n", r"holds no sentences"),
    ("index_id\tcategory\ttext\n\u00b2\ttravel\tA sentence.\n", r"dev.tsv:2: index_id '\u00b2' is not a number"),
])
def test_a_broken_file_names_its_line(tmp_path, content, message):
    path = tmp_path / "dev.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EngineError, match=message):
        read_flores_file(path)


def test_missing_files_and_splits_are_named(tmp_path):
    with pytest.raises(EngineError, match="flores200-sib/yor_Latn/dev.tsv is missing"):
        read_flores(tmp_path, "dev", ["yo"])
    with pytest.raises(EngineError, match="unknown FLORES-200 split 'test'"):
        read_flores(tmp_path, "test", ["yo"])


def test_the_benchmark_asks_each_sentence_for_its_translations(tmp_path):
    bench = load_flores_benchmark(write_flores(tmp_path), ["en", "de", "yo"])
    assert bench.languages == ["en", "de", "yo"] and len(bench.query_ids) == 9 and len(bench.candidate_ids) == 9
    first = bench.query_ids.index("yo/3")
    entries = range(bench.qrels.ptr[first], bench.qrels.ptr[first + 1])
    assert [bench.qrels.ids[entry] for entry in entries] == ["en/3", "de/3"]  # not itself
    assert bench.query_texts[first] == FLORES_SENTENCES["yor_Latn"][0]


def test_identical_embeddings_across_languages_retrieve_every_translation_first(tmp_path, monkeypatch, tiny_bundle):
    """A model that writes every language the same way (here: the same text) finds each translation
    at rank 1, so cross-lingual mAP is 1; the real default model's figure is below that."""
    same = {code: FLORES_SENTENCES["eng_Latn"] for code in FLORES_SENTENCES}
    monkeypatch.setenv("ENGINE_DATA_DIR", str(write_flores(tmp_path / "data", same)))
    encoder = Encoder(tiny_bundle, variant="fp32", device="cpu")
    result = evaluate("flores200", encoder, EvalOptions(languages=["en", "de", "yo"], quiet=True))
    assert list(result.report["settings"]) == ["cross"]
    assert result.report["settings"]["cross"]["macro"]["map"] == pytest.approx(1.0)
    assert len(result.report["settings"]["cross"]["pools"]) == 6
    assert result.report["counts"]["queries"] == {"en": len(FLORES_IDS), "de": len(FLORES_IDS), "yo": len(FLORES_IDS)}


def test_a_byte_order_mark_is_dropped_only_newlines_end_a_row_and_a_bad_byte_names_its_line(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_bytes("\ufeffindex_id\tcategory\ttext\r\n3\ttravel\tOne\u2028two\x0cthree.\r\n".encode("utf-8"))
    assert read_flores_file(path) == {3: "One\u2028two\x0cthree."}
    path.write_bytes(b"index_id\tcategory\ttext\n3\ttravel\tOne.\n4\ttravel\t\xff\n")
    with pytest.raises(EngineError, match=r"dev.tsv:3: not UTF-8 text"):
        read_flores_file(path)
