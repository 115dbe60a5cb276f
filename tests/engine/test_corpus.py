import json

import pytest

from engine.corpus import read_corpus
from engine.errors import EngineError


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r for r in records) + "\n",
                    encoding="utf-8")
    return path


def test_jsonl_with_beir_ids_titles_languages_and_extra_fields(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [
        {"_id": "a", "title": "Maji", "text": "Maji ni uhai.", "lang": "sw", "source": "demo"},
        {"id": 7, "text": "Water is life."},
    ])
    first, second = read_corpus(path, default_lang="en")
    assert (first.id, first.title, first.text, first.lang, first.extra) == ("a", "Maji", "Maji ni uhai.", "sw",
                                                                            {"source": "demo"})
    assert (second.id, second.lang, second.title) == ("7", "en", "")


def test_tsv_with_header(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("id\ttitle\ttext\tlang\n1\tOmi\tOmi ni iye.\tyo\n\n2\t\tWasser\tde\n", encoding="utf-8")
    passages = read_corpus(path)
    assert [(p.id, p.title, p.text, p.lang) for p in passages] == [("1", "Omi", "Omi ni iye.", "yo"),
                                                                    ("2", "", "Wasser", "de")]


@pytest.mark.parametrize("lines, message", [
    (['{"id": "a", "text": "ok"}', '{"id": "b", "text": '], r"c.jsonl:2: malformed JSON"),
    (['{"id": "a"}'], r"c.jsonl:1: missing 'text'"),
    (['{"id": "a", "text": "   "}'], r"c.jsonl:1: 'text' must be a non-empty string"),
    (['{"text": "no id"}'], r"c.jsonl:1: missing 'id'"),
    (['{"id": "a", "text": "x"}', '', '{"id": "a", "text": "y"}'], r"c.jsonl:3: duplicate id 'a' \(first seen on line 1\)"),
    (['["a", "b"]'], r"c.jsonl:1: expected a JSON object"),
    (['{"id": "a", "text": "x", "lang": "xx"}'], r"c.jsonl:1: 'lang': unknown language code 'xx'"),
    ([''], r"corpus .*c.jsonl is empty"),
    (['{"id": "a", "text": "x", "score": NaN}'], r"c.jsonl:1: NaN is not valid JSON"),
])
def test_bad_jsonl_is_named_with_its_line(tmp_path, lines, message):
    path = write_jsonl(tmp_path / "c.jsonl", lines)
    with pytest.raises(EngineError, match=message):
        read_corpus(path)


def test_tsv_without_header_or_with_wrong_field_count(tmp_path):
    no_header = tmp_path / "a.tsv"
    no_header.write_text("1\thello\n", encoding="utf-8")
    with pytest.raises(EngineError, match="header must name the columns"):
        read_corpus(no_header)
    ragged = tmp_path / "b.tsv"
    ragged.write_text("id\ttext\n1\thello\textra\n", encoding="utf-8")
    with pytest.raises(EngineError, match=r"b.tsv:2: expected 2 tab-separated fields, found 3"):
        read_corpus(ragged)


def test_missing_file_binary_file_and_bad_default_language(tmp_path):
    with pytest.raises(EngineError, match="does not exist"):
        read_corpus(tmp_path / "none.jsonl")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(EngineError, match="not UTF-8"):
        read_corpus(binary)
    good = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "x"}])
    with pytest.raises(EngineError, match="--lang: unknown language code 'english'"):
        read_corpus(good, default_lang="english")


def test_byte_order_marks_and_long_tsv_fields_are_accepted(tmp_path):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "x"}).encode() + b"\n")
    assert read_corpus(jsonl)[0].id == "a"
    tsv = tmp_path / "bom.tsv"
    long_text = "word " * 60_000  # 300k characters: over csv's default field limit
    tsv.write_bytes(b"\xef\xbb\xbf" + f"id\ttext\n1\t{long_text}\n".encode())
    assert read_corpus(tsv)[0].text == long_text


def test_unpaired_surrogates_and_boolean_ids_are_refused(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", ['{"id": "a", "text": "bad \\ud800 text"}'])
    with pytest.raises(EngineError, match=r"c.jsonl:1: 'text' holds an unpaired surrogate"):
        read_corpus(path)
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": True, "text": "x"}])
    with pytest.raises(EngineError, match=r"d.jsonl:1: 'id' must be a string or an integer"):
        read_corpus(path)


def test_deep_nesting_repeated_tsv_columns_and_bad_bytes_name_the_line(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"id": "a", "text": "x"}\n' + "[" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(EngineError, match=r"deep.jsonl:2: JSON nested too deeply"):
        read_corpus(deep)
    twice = tmp_path / "twice.tsv"
    twice.write_text("id\ttext\ttext\na\tone\ttwo\n", encoding="utf-8")
    with pytest.raises(EngineError, match=r"twice.tsv:1: the TSV header names 'text' more than once"):
        read_corpus(twice)
    for name, good in (("bad.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n\n'),
                       ("bad.tsv", "id\ttext\na\tx\nb\ty\n")):
        bad = tmp_path / name
        bad.write_bytes(good.encode() + b"c\tn\xe9e\n")
        with pytest.raises(EngineError, match=rf"{name}:4: not UTF-8 text \(invalid continuation byte at column 4\)"):
            read_corpus(bad)
