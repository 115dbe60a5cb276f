"""XQuAD-R / MLQA-R loading on small hand-written files in the LAReQA format."""

import json

import pytest

from engine.errors import EngineError
from engine.evaluation.benchmarks import get_benchmark
from engine.evaluation.lareqa import load_lareqa, read_lareqa_file

from .conftest import PARAGRAPHS, squad_file, write_lareqa


def relevant(bench, query_id):
    query = bench.query_ids.index(query_id)
    return [bench.qrels.ids[e] for e in range(bench.qrels.ptr[query], bench.qrels.ptr[query + 1])]


def test_every_sentence_is_a_candidate_with_its_paragraph(tmp_path):
    bench = load_lareqa("xquad-r", write_lareqa(tmp_path), ["en", "de"])
    assert bench.languages == ["en", "de"]
    assert bench.candidate_ids[:3] == ["en/p0s0", "en/p0s1", "en/p0s2"]
    assert len(bench.candidate_rows("en")) == 8 and len(bench.candidate_rows("de")) == 8
    assert bench.candidate_blocks.tolist() == [0, 8, 16]
    texts = bench.candidate_texts(get_benchmark("xquad-r").texts["sentence+context"])
    assert texts[1] == "It flows north. The river is long. It flows north. Fish live in it."
    assert bench.candidate_texts(("sentence",))[1] == "It flows north."


def test_answer_start_picks_the_sentence_and_ids_join_languages(tmp_path):
    bench = load_lareqa("xquad-r", write_lareqa(tmp_path), ["en", "de"])
    assert relevant(bench, "en/q2") == ["en/p0s1", "de/p0s1"]
    assert relevant(bench, "de/q6") == ["en/p2s1", "de/p2s1"]
    assert relevant(bench, "en/q5") == ["en/p2s2"]  # no German q5
    assert len(bench.query_rows("en")) == 6 and len(bench.query_rows("de")) == 5
    assert bench.query_texts[bench.query_ids.index("de/q3")] == "Wann wird Brot gebacken?"


def test_languages_and_max_queries_restrict_the_benchmark(tmp_path):
    root = write_lareqa(tmp_path)
    only_german = load_lareqa("xquad-r", root, ["de"])
    assert relevant(only_german, "de/q1") == ["de/p0s0"]
    assert set(only_german.candidate_langs.tolist()) == {0}
    first_two = load_lareqa("xquad-r", root, ["en", "de"], max_queries=2)
    assert first_two.query_ids == ["en/q1", "en/q2", "de/q1", "de/q2"]
    assert len(first_two.candidate_ids) == 16  # the pool stays whole


def test_missing_language_file_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_DATA_DIR", str(tmp_path))
    root = write_lareqa(tmp_path)
    with pytest.raises(EngineError) as err:
        load_lareqa("xquad-r", root, ["en", "es"])
    message = str(err.value)
    assert str(tmp_path / "xquad-r" / "es.json") in message
    assert "ENGINE_DATA_DIR" in message and "github.com/google-research-datasets/lareqa" in message


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["data"][0]["paragraphs"][0].pop("sentence_breaks"), "missing field 'sentence_breaks'"),
    (lambda d: d["data"][0]["paragraphs"][0]["sentence_breaks"].pop(), "3 sentences but 2 sentence_breaks"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"][0]["answers"][0].update(answer_start=500),
     "answer start 500 of question q1 falls in no sentence_breaks span"),
    (lambda d: d["data"][0]["paragraphs"][1]["qas"].append(d["data"][0]["paragraphs"][0]["qas"][0]),
     "question q1 has no answer or is listed twice"),
    (lambda d: d.pop("data"), "missing field 'data'"),
])
def test_malformed_files_name_the_file_and_the_problem(tmp_path, mutate, message):
    content = squad_file(PARAGRAPHS["en"])
    mutate(content)
    path = tmp_path / "en.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(EngineError, match=message) as err:
        read_lareqa_file(path, "en")
    assert str(path) in str(err.value)


def test_invalid_json(tmp_path):
    path = tmp_path / "en.json"
    path.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(EngineError, match="en.json is not valid JSON"):
        read_lareqa_file(path, "en")
