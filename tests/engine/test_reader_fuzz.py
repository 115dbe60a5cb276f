"""Fuzzing the input readers with Hypothesis: arbitrary bytes and near-valid JSONL/TSV must give a
correct parse or one EngineError, never another exception."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.corpus import read_corpus, read_queries
from engine.errors import EngineError
from train.pairs import read_pair_groups
from train.translations import read_translation_groups

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Near-valid records: the right shape with any field possibly missing, mistyped or odd.
odd_text = st.one_of(st.text(max_size=30), st.just(""), st.just("   "), st.integers(), st.none(), st.booleans(),
                     st.lists(st.text(max_size=5), max_size=2), st.just("\ud800"))
lang = st.one_of(st.sampled_from(["en", "de", "sw", "yo", "zh-Hant", "zzz", "xx", "EN", ""]), st.text(max_size=4))
corpus_record = st.fixed_dictionaries({}, optional={"id": st.one_of(st.text(max_size=6), st.integers(), st.booleans()),
                                                    "_id": st.text(max_size=6), "text": odd_text, "title": odd_text,
                                                    "lang": lang, "extra": odd_text})
pair = st.fixed_dictionaries({}, optional={"query": odd_text, "positive": odd_text,
                                           "negatives": st.one_of(st.lists(odd_text, max_size=2), odd_text)})
pair_group = st.fixed_dictionaries({}, optional={"group": odd_text,
                                                 "pairs": st.one_of(st.dictionaries(lang, pair, max_size=3), odd_text)})
translation_group = st.fixed_dictionaries({}, optional={
    "group": odd_text, "sentences": st.one_of(st.dictionaries(lang, odd_text, max_size=3), odd_text)})


def _jsonl(records, garbage):
    lines = [json.dumps(record) for record in records]
    if garbage is not None:
        lines.insert(garbage[0] % (len(lines) + 1), garbage[1])
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def _parses_or_refuses(read, path):
    try:
        read(path)
    except EngineError as err:
        assert str(err)  # one clear message; anything else propagates and fails the test


garbage_line = st.one_of(st.none(), st.tuples(st.integers(0, 5), st.text(max_size=20)))


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes(tmp_path, data):
    for name in ("c.jsonl", "c.tsv"):
        (tmp_path / name).write_bytes(data)
        _parses_or_refuses(read_corpus, tmp_path / name)
    (tmp_path / "q.tsv").write_bytes(data)
    with open(tmp_path / "q.tsv", "rb") as handle:
        _parses_or_refuses(read_queries, handle)
    for read in (read_pair_groups, read_translation_groups):
        _parses_or_refuses(read, tmp_path / "c.jsonl")


@FUZZ
@given(records=st.lists(corpus_record, max_size=5), garbage=garbage_line)
def test_near_valid_corpus_jsonl(tmp_path, records, garbage):
    (tmp_path / "c.jsonl").write_bytes(_jsonl(records, garbage))
    _parses_or_refuses(read_corpus, tmp_path / "c.jsonl")


@FUZZ
@given(header=st.lists(st.sampled_from(["id", "_id", "text", "title", "lang", "x", ""]), max_size=5),
       rows=st.lists(st.lists(st.text(alphabet=st.characters(blacklist_characters="\t\n\r"), max_size=8), max_size=6),
                     max_size=5))
def test_near_valid_corpus_tsv(tmp_path, header, rows):
    text = "\n".join("\t".join(cells) for cells in [header, *rows]) + "\n"
    (tmp_path / "c.tsv").write_bytes(text.encode("utf-8", "surrogatepass"))
    _parses_or_refuses(read_corpus, tmp_path / "c.tsv")


@FUZZ
@given(groups=st.lists(pair_group, max_size=4), translations=st.lists(translation_group, max_size=4),
       garbage=garbage_line)
def test_near_valid_pair_and_translation_groups(tmp_path, groups, translations, garbage):
    (tmp_path / "pairs.jsonl").write_bytes(_jsonl(groups, garbage))
    _parses_or_refuses(read_pair_groups, tmp_path / "pairs.jsonl")
    (tmp_path / "translations.jsonl").write_bytes(_jsonl(translations, garbage))
    _parses_or_refuses(read_translation_groups, tmp_path / "translations.jsonl")
