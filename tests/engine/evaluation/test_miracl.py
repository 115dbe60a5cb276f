"""MIRACL and MIRACL-subset loading on tiny hand-written files."""

import gzip
import json

import pytest

from engine.errors import EngineError
from engine.evaluation.miracl import (
    corpus_languages,
    load_miracl,
    load_miracl_subset,
    read_passages,
    read_qrels,
    read_topics,
    subset_languages,
)

TOPICS = "q1\tIbeere kini?\nq2\tIbeere keji\nq3\tKo si idahun\n"
QRELS = "q1 Q0 d1 1\nq1 Q0 d2 0\nq1 Q0 d9 1\nq2 Q0 d3 1\nq3 Q0 d2 0\n"
PASSAGES = [{"docid": "d1", "title": "Akole", "text": "Oro kan."}, {"docid": "d2", "title": "", "text": "Oro meji."},
            {"docid": "d3", "title": "Omiran", "text": "Oro meta."}]


def write_miracl(root, corpus=True, subset=True):
    base = root / "miracl"
    for folder, name, text in (("topics", "topics.miracl-v1.0-yo-dev.tsv", TOPICS),
                               ("qrels", "qrels.miracl-v1.0-yo-dev.tsv", QRELS)):
        (base / folder).mkdir(parents=True, exist_ok=True)
        (base / folder / name).write_text(text, encoding="utf-8")
    if corpus:
        import zstandard

        feed = "".join(json.dumps({"put": f"id:miracl-yo:doc::{p['docid']}",
                                   "fields": {**{k: p[k] for k in ("title", "text")}, "doc_id": p["docid"]}}) + "\n"
                       for p in PASSAGES)
        (base / "corpus").mkdir(parents=True, exist_ok=True)
        (base / "corpus" / "yo-feed.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(feed.encode()))
    if subset:
        (base / "nomiracl").mkdir(parents=True, exist_ok=True)
        with gzip.open(base / "nomiracl" / "nomiracl-passages.yo.jsonl.gz", "wt", encoding="utf-8") as handle:
            for passage in PASSAGES[:2]:  # d3 is not in the subset pool
                handle.write(json.dumps({**passage, "truncated": None}) + "\n")
    return root


def relevant(bench, query_id):
    query = bench.query_ids.index(query_id)
    entries = range(bench.qrels.ptr[query], bench.qrels.ptr[query + 1])
    return [(bench.qrels.ids[e], int(bench.qrels.candidate[e]), bench.qrels.gain[e]) for e in entries]


def test_full_corpus_keeps_every_query_with_a_positive(tmp_path):
    root = write_miracl(tmp_path)
    assert corpus_languages(root) == ["yo"] and subset_languages(root) == ["yo"]
    bench = load_miracl(root, ["yo"])
    assert bench.candidate_ids == ["yo/d1", "yo/d2", "yo/d3"]
    assert bench.candidate_texts(("title", "text")) == ["Akole Oro kan.", "Oro meji.", "Omiran Oro meta."]
    assert bench.query_ids == ["yo/q1", "yo/q2"]  # q3 has no positive judgement
    assert relevant(bench, "yo/q1") == [("yo/d1", 0, 1.0), ("yo/d9", -1, 1.0)]  # d9 is not in the corpus


def test_subset_keeps_queries_with_a_positive_in_the_pool_and_restricts_qrels(tmp_path):
    bench = load_miracl_subset(write_miracl(tmp_path), ["yo"])
    assert bench.candidate_ids == ["yo/d1", "yo/d2"]
    assert bench.query_ids == ["yo/q1"]  # q2's only positive, d3, is outside the pool
    assert relevant(bench, "yo/q1") == [("yo/d1", 0, 1.0)]


def test_missing_corpus_points_to_the_source_and_the_subset(tmp_path):
    root = write_miracl(tmp_path, corpus=False)
    assert corpus_languages(root) == []
    with pytest.raises(EngineError, match="no yo corpus at .*yo-feed.jsonl.zst.*miracl-corpus.*miracl-subset"):
        load_miracl(root, ["yo"])


def test_missing_topics_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_DATA_DIR", str(tmp_path))
    root = write_miracl(tmp_path)
    (root / "miracl" / "topics" / "topics.miracl-v1.0-yo-dev.tsv").unlink()
    with pytest.raises(EngineError, match="topics.miracl-v1.0-yo-dev.tsv not found .*ENGINE_DATA_DIR.*anserini"):
        load_miracl_subset(root, ["yo"])


def test_readers_report_the_bad_line(tmp_path):
    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tfine\nno tab here\n", encoding="utf-8")
    with pytest.raises(EngineError, match="topics.tsv:2: expected `qid<TAB>query`"):
        read_topics(topics)
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("q1 Q0 d1 1\nq1 Q0 d2 yes\n", encoding="utf-8")
    with pytest.raises(EngineError, match="qrels.tsv:2: expected `qid Q0 docid relevance`"):
        read_qrels(qrels)
    passages = tmp_path / "passages.jsonl"
    passages.write_text('{"docid": "a", "text": "ok"}\n{"docid": "b"}\n', encoding="utf-8")
    with pytest.raises(EngineError, match="passages.jsonl:2: expected a JSON passage"):
        list(read_passages(passages))


def test_corrupt_compressed_files(tmp_path):
    for name in ("bad.jsonl.zst", "bad.jsonl.gz"):
        path = tmp_path / name
        path.write_bytes(b"\x28\xb5\x2f\xfd garbage" if name.endswith("zst") else b"\x1f\x8b\x08\x00 garbage")
        with pytest.raises(EngineError, match=f"{name} is corrupt or truncated"):
            list(read_passages(path))


def test_duplicate_docids_are_refused(tmp_path):
    root = write_miracl(tmp_path)
    with gzip.open(root / "miracl" / "nomiracl" / "nomiracl-passages.yo.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(PASSAGES[0]) + "\n" + json.dumps(PASSAGES[0]) + "\n")
    with pytest.raises(EngineError, match="lists some docids more than once"):
        load_miracl_subset(root, ["yo"])
