import json
import shutil
import sys

import pytest

from tests.cli_runs import assert_fails
from tests.cli_runs import run_engine as run

PASSAGES = [
    {"id": f"{topic}-{lang}", "lang": lang, "title": f"{topic} {lang}", "text": text}
    for topic, texts in {
        "water": {"en": "Clean water keeps people healthy.", "sw": "Maji safi huwaweka watu wakiwa na afya.",
                  "de": "Sauberes Wasser hält Menschen gesund."},
        "moon": {"en": "The moon circles the earth every month.", "sw": "Mwezi huzunguka dunia kila mwezi.",
                 "de": "Der Mond umkreist die Erde jeden Monat."},
        "rice": {"en": "Rice is cooked in boiling water.", "yo": "A máa se ìrẹsì nínú omi gbígbóná.",
                 "de": "Reis wird in kochendem Wasser gegart."},
    }.items()
    for lang, text in texts.items()
]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in PASSAGES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def built(tmp_path, corpus, tiny_bundle):
    result = run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "index", "--quiet")
    assert result.exit_code == 0, result.output
    return tmp_path / "index"


def test_build_index_prints_a_summary(built):
    assert (built / "manifest.json").is_file()
    info = run("info", built)
    assert info.exit_code == 0
    assert "9 in 4 language(s): de, en, sw, yo" in info.output
    assert json.loads(run("info", built, "--json").output)["count"] == 9


def test_search_prints_hits_with_scores_and_latency(built):
    result = run("search", built, "clean water", "mwezi", "-k", "3")
    assert result.exit_code == 0, result.output
    assert result.output.count("query:") == 2
    assert "2 queries in" in result.output and "ms per query" in result.output


def test_search_json_and_language_filter(built):
    result = run("search", built, "water", "-k", "2", "--lang", "sw,yo", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["results"][0]["hits"]
    assert len(hits) == 2 and {hit["lang"] for hit in hits} <= {"sw", "yo"}
    assert set(hits[0]) == {"id", "score", "lang", "title", "text", "extra"}


def test_queries_from_stdin_give_a_trec_run(built):
    result = run("search", built, "--queries", "-", "-k", "2", "--run-tag", "demo", input="q1\twater\nq2\tmoon\n")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.strip().splitlines()]
    assert [(line[0], line[1], line[3], line[5]) for line in lines] == [
        ("q1", "Q0", "1", "demo"), ("q1", "Q0", "2", "demo"), ("q2", "Q0", "1", "demo"), ("q2", "Q0", "2", "demo")]


def test_add_and_delete(built, tmp_path):
    more = tmp_path / "more.tsv"
    more.write_text("id\ttext\nsun-en\tThe sun is a star.\n", encoding="utf-8")
    added = run("add", built, more, "--lang", "en", "--quiet")
    assert added.exit_code == 0, added.output
    assert "10 passages" in added.output
    deleted = run("delete", built, "sun-en", "moon-de")
    assert deleted.exit_code == 0 and "8 passages left" in deleted.output


def test_malformed_corpus_names_the_line_and_writes_nothing(tmp_path, tiny_bundle):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": oops}\n', encoding="utf-8")
    assert_fails(run("build-index", bad, "--model", tiny_bundle, "--out", tmp_path / "index"), "bad.jsonl:2: malformed JSON")
    assert not (tmp_path / "index").exists()


def test_existing_index_survives_a_failed_rebuild(built, tmp_path, tiny_bundle):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert_fails(run("build-index", empty, "--model", tiny_bundle, "--out", built, "--overwrite"), "is empty")
    assert_fails(run("build-index", empty, "--model", tiny_bundle, "--out", built), "already exists")
    assert "9 in 4 language(s)" in run("info", built).output


def test_search_errors(built):
    assert_fails(run("search", built, "water", "-k", "50"), "k=50 is larger than the collection (9 passages)")
    assert_fails(run("search", built, "water", "--lang", "xx"), "unknown language code 'xx'")
    assert_fails(run("search", built, "water", "--lang", "fr"), "no passages in 'fr'")
    assert_fails(run("search", built, "   "), "query 1 is empty")
    assert_fails(run("search", built), "give either QUERIES")
    assert_fails(run("search", built, "--queries", "-", input="no tab here\n"), "expected `qid<TAB>query`")
    assert_fails(run("search", built, "--queries", "-", input="q1\twater\nq1\tmoon\n"), "query id 'q1' repeats line 1")
    assert_fails(run("search", built, "water", "--lang", " , "), "no language codes")


def test_model_that_does_not_match_the_index(built, tiny_bundle, tmp_path):
    other = shutil.copytree(tiny_bundle, tmp_path / "other-bundle")
    manifest = json.loads((other / "bundle.json").read_text())
    manifest["fingerprint"] = "0" * 64
    (other / "bundle.json").write_text(json.dumps(manifest))
    assert_fails(run("search", built, "water", "--model", other), "does not match index")


def test_corrupted_and_missing_indexes(built, tmp_path):
    (built / "vectors.npy").write_bytes(b"\x93NUMPY broken")
    assert_fails(run("search", built, "water"), "vectors.npy is truncated or corrupted")
    (tmp_path / "plain").mkdir()
    assert_fails(run("info", tmp_path / "plain"), "is not an index dir")
    assert_fails(run("info", tmp_path / "missing"), "does not exist")


def test_queries_file_with_byte_order_mark_and_bad_encoding(built, tmp_path):
    good = tmp_path / "q.tsv"
    good.write_bytes(b"\xef\xbb\xbfq1\twater\n")
    result = run("search", built, "--queries", good, "-k", "1")
    assert result.exit_code == 0 and result.output.startswith("q1 Q0 ")
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"q1\twater\nq2\tni\xffle\n")
    assert_fails(run("search", built, "--queries", bad), "bad.tsv:2: not UTF-8 text (invalid start byte at column 6)")


def test_search_says_when_the_recorded_bundle_has_moved(tmp_path, corpus, tiny_bundle):
    moved = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    assert run("build-index", corpus, "--model", moved, "--out", tmp_path / "index", "--quiet").exit_code == 0
    shutil.rmtree(moved)
    assert_fails(run("search", tmp_path / "index", "water"), "which is no longer there; pass --model")
    assert run("search", tmp_path / "index", "water", "-k", "2", "--model", tiny_bundle).exit_code == 0


def test_build_with_one_thread_and_bad_thread_counts(tmp_path, corpus, tiny_bundle):
    result = run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "one", "--threads", "1", "--quiet")
    assert result.exit_code == 0, result.output
    result = run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "bad", "--threads", "-2")
    assert result.exit_code != 0 and "--threads must be 0 (all cores) or positive, got -2" in result.output
    assert not (tmp_path / "bad").exists()


def test_default_bundle_on_an_install_without_the_export_extra(tmp_path, corpus, monkeypatch):
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(sys.modules, "export.default_bundle", None)  # as if export's dependencies were missing
    assert_fails(run("build-index", corpus, "--out", tmp_path / "index", "--quiet"),
                 "needs the export extra", "pip install -e '.[export]'", "`engine export default`")
    assert not (tmp_path / "index").exists()


def test_ids_and_run_tags_a_trec_run_cannot_hold(built, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("q 1\twater\n", encoding="utf-8")
    assert_fails(run("search", built, "--queries", queries), "q.tsv:1: query id 'q 1' contains whitespace")
    queries.write_text("q1\twater\n", encoding="utf-8")
    assert_fails(run("search", built, "--queries", queries, "--run-tag", "my run"), "--run-tag 'my run'")


def test_passage_ids_with_whitespace_are_refused_in_a_trec_run(tmp_path, tiny_bundle):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "doc 1", "text": "Clean water keeps people healthy."}) + "\n", encoding="utf-8")
    assert run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "index", "--quiet").exit_code == 0
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\twater\n", encoding="utf-8")
    result = run("search", tmp_path / "index", "--queries", queries, "-k", "1")
    assert_fails(result, "passage id 'doc 1' is empty or contains whitespace")
    assert "Q0" not in result.output


def test_corpus_that_is_a_directory_and_hnsw_m_below_two(tmp_path, tiny_bundle, corpus):
    assert_fails(run("build-index", tmp_path, "--model", tiny_bundle, "--out", tmp_path / "index"), "is a directory")
    assert_fails(run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "index", "--M", "1"),
                 "M must be at least 2, got 1")


@pytest.mark.parametrize("args, message", [
    (["search"], "Missing argument 'INDEX_PATH'. (see `"),
    (["bild-index", "x"], "No such command 'bild-index'. Did you mean 'build-index'?"),
    (["build-index", "c.jsonl", "-k", "3"], "No such option '-k'."),
    (["search", "idx", "water", "-k", "abc"], "Invalid value for '-k': 'abc' is not a valid integer."),
    (["build-index", "c.jsonl"], "Missing option '--out'."),
    (["delete", "idx"], "Missing argument 'IDS...'."),
])
def test_usage_errors_are_one_line_with_exit_status_2(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {message}")
    assert result.output.count("\n") == 1 and "Usage:" not in result.output and "Traceback" not in result.output


def test_info_verify_checks_the_recorded_bundle(built, tiny_bundle, tmp_path, tiny_model_dir):
    result = run("info", built, "--verify")
    assert result.exit_code == 0 and "verify: manifest, files, metadata and model bundle all check out" in result.output
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    manifest["model"]["bundle"] = str(tmp_path / "gone")
    (built / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # only the recorded bundle path changed, which no checksum covers: plain info still opens the index
    assert run("info", built).exit_code == 0
    assert_fails(run("info", built, "--verify"), "verify: index", "is no longer there")
    other = shutil.copytree(tiny_bundle, tmp_path / "other")
    bundle_manifest = json.loads((other / "bundle.json").read_text(encoding="utf-8"))
    bundle_manifest["fingerprint"] = "f" * 64
    (other / "bundle.json").write_text(json.dumps(bundle_manifest), encoding="utf-8")
    manifest["model"]["bundle"] = str(other)
    (built / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert_fails(run("info", built, "--verify"), "does not match index")


def test_a_sharded_index_is_built_searched_and_updated_like_one(built, corpus, tmp_path, tiny_bundle):
    sharded = tmp_path / "sharded"
    result = run("build-index", corpus, "--model", tiny_bundle, "--out", sharded, "--shards", "3", "--quiet")
    assert result.exit_code == 0, result.output
    assert (sharded / "shards.json").is_file()
    searches = [run("search", index, "moon", "water", "-k", "9", "--lang", "en,de,sw,yo", "--json")
                for index in (built, sharded)]
    hits = [[[hit["id"] for hit in result["hits"]] for result in json.loads(search.output)["results"]]
            for search in searches]
    assert hits[0] == hits[1]
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"id": "sun-en", "lang": "en", "text": "The sun is a star."}) + "\n")
    assert run("add", sharded, more, "--quiet").exit_code == 0
    assert run("delete", sharded, "moon-en").exit_code == 0
    info = run("info", sharded)
    assert "passages:   9 in 4 language(s)" in info.output and "shards:     3 (sha256-mod of the id)" in info.output
    assert_fails(run("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "x", "--shards", "0"),
                 "--shards must be a positive integer")
