"""`engine eval` end to end with the tiny bundle, and every kind of bad input."""

import json

import pytest

from tests.cli_runs import assert_fails, run_engine

from .conftest import write_lareqa


def run(*args):
    return run_engine("eval", *args)


def test_eval_writes_json_trec_qrels_and_heat_map(lareqa_data, tiny_bundle, tmp_path):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    out = tmp_path / "out"
    result = run("xquad-r", "--model", tiny_bundle, "--langs", "en,de", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "XQuAD-R: 2 language(s), 11 queries, 16 candidates (candidate text: sentence+context)" in result.output
    assert "time: load" in result.output and "| encode" in result.output and "| scoring" in result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == ["xquad-r-int8.json", "xquad-r-int8.png", "xquad-r-int8.qrels", "xquad-r-int8.trec"]
    report = json.loads((out / "xquad-r-int8.json").read_text())
    assert set(report["settings"]) == {"mono", "cross", "multi"}
    assert set(report["settings"]["cross"]["pools"]) == {"en-de", "de-en"}
    assert report["settings"]["cross"]["pools"]["en-de"]["queries"] == 5  # en q5 has no German answer
    assert set(report["timings_s"]) == {"load", "encode", "scoring", "metrics", "total"}
    assert (out / "xquad-r-int8.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The run holds each query's whole multilingual pool (16 < depth 100), so trec_eval on the written
    # files reproduces the multilingual mAP.
    run_dict, qrels = {}, {}
    for line in (out / "xquad-r-int8.trec").read_text().splitlines():
        qid, _, docid, _, score, _ = line.split()
        run_dict.setdefault(qid, {})[docid] = float(score)
    for line in (out / "xquad-r-int8.qrels").read_text().splitlines():
        qid, _, docid, rel = line.split()
        qrels.setdefault(qid, {})[docid] = int(rel)
    assert all(len(hits) == 16 for hits in run_dict.values())
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"map"}).evaluate(run_dict)
    for lang in ("en", "de"):
        values = [figures["map"] for qid, figures in per_query.items() if qid.startswith(lang + "/")]
        assert report["settings"]["multi"]["pools"][lang]["map"] == pytest.approx(sum(values) / len(values))


def test_json_output_sentence_text_and_the_embedding_cache(lareqa_data, tiny_bundle, tmp_path, monkeypatch):
    args = ("xquad-r", "--model", tiny_bundle, "--langs", "en,de", "--candidate-text", "sentence", "--settings", "mono,multi",
            "--hnsw", "--json", "--quiet")
    first = run(*args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["candidate_text"] == "sentence" and list(report["settings"]) == ["mono", "multi"]
    assert report["hnsw"]["settings"]["multi"]["loss"]["map"] == pytest.approx(0.0, abs=1e-6)
    cached = sorted(path.name for path in (tmp_path / "cache" / "embeddings").glob("*/*.npy"))
    assert cached == ["xquad-r-de-candidates-sentence.npy", "xquad-r-de-queries.npy",
                      "xquad-r-en-candidates-sentence.npy", "xquad-r-en-queries.npy"]
    def no_encoding(*args, **kwargs):
        raise AssertionError("the second run should read every embedding from the cache")

    monkeypatch.setattr("engine.encoder.Encoder.encode", no_encoding)
    again = run(*args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["settings"] == report["settings"]


def test_mlqa_style_benchmark_and_max_queries(tmp_path, monkeypatch, tiny_bundle):
    monkeypatch.setenv("ENGINE_DATA_DIR", str(write_lareqa(tmp_path / "data", "mlqa-r")))
    result = run("mlqa-r", "--model", tiny_bundle, "--langs", "de,en", "--max-queries", "2", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["languages"] == ["de", "en"] and report["counts"]["queries"] == {"de": 2, "en": 2}


@pytest.mark.data
def test_eval_on_the_shared_xquad_r(shared_data, tiny_bundle, tmp_path):
    result = run("xquad-r", "--model", tiny_bundle, "--max-queries", "20", "--langs", "en,de", "--out", tmp_path,
                 "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "xquad-r-int8.json").read_text())
    assert report["counts"] == {"queries": {"en": 20, "de": 20}, "candidates": {"en": 1180, "de": 1276}}
    assert {path.suffix for path in tmp_path.iterdir() if path.is_file()} == {".json", ".trec", ".qrels", ".png"}


def test_missing_data_dir(tmp_path, monkeypatch, tiny_bundle):
    monkeypatch.setenv("ENGINE_DATA_DIR", str(tmp_path / "nowhere"))
    assert_fails(run("xquad-r", "--model", tiny_bundle), str(tmp_path / "nowhere"), "does not exist", "ENGINE_DATA_DIR",
                 "xquad-r/<lang>.json", "github.com/google-research-datasets/lareqa")
    monkeypatch.delenv("ENGINE_DATA_DIR")
    assert_fails(run("xquad-r", "--model", tiny_bundle), str(tmp_path / "cache" / "data"),
                 "because ENGINE_DATA_DIR is not set")


def test_missing_dataset_file(lareqa_data, tiny_bundle):
    assert_fails(run("mlqa-r", "--model", tiny_bundle), str(lareqa_data / "mlqa-r" / "ar.json"), "not found",
                 "github.com/google-research-datasets/lareqa")


def test_unknown_benchmark_language_setting_and_text(lareqa_data, tiny_bundle):
    assert_fails(run("squad", "--model", tiny_bundle), "unknown benchmark 'squad'", "xquad-r, mlqa-r, miracl")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--langs", "en,xx"), "xquad-r has no language 'xx'")
    assert_fails(run("miracl", "--model", tiny_bundle, "--settings", "cross"), "miracl has no setting 'cross'")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--candidate-text", "title+text"), "no candidate text")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--max-queries", "0"), "--max-queries must be positive")


def test_corrupt_data_file(lareqa_data, tiny_bundle, tmp_path):
    (lareqa_data / "xquad-r" / "de.json").write_text('{"data": [{"paragraphs": [', encoding="utf-8")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--langs", "en,de", "--out", tmp_path / "out"),
                 "de.json is not valid JSON")
    assert not (tmp_path / "out").exists()


def test_bad_options_fail_before_any_encoding(lareqa_data, tiny_bundle, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--langs", "en,de", "--out", tmp_path / "file"),
                 "exists and is not a directory")
    assert_fails(run("xquad-r", "--model", tiny_bundle, "--langs", "en,de", "--hnsw", "--M", "0"),
                 "HNSW parameter M must be a positive integer")
    assert not (tmp_path / "cache" / "embeddings").exists()
