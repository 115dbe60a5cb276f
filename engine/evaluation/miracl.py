"""MIRACL dev (topics, qrels, corpus) and the MIRACL-subset built from the NoMIRACL passages.

miracl: the full corpus of each language whose corpus file is in the data dir; every dev query
with a positive judgement counts, and positives missing from the corpus count as never retrieved.

miracl-subset: the pool is the partial passage set recovered from NoMIRACL (a few thousand per
language); the queries are the dev queries with at least one positive inside that pool, and the
judgements are restricted to it. Its figures are not MIRACL figures: the pool is tiny and biased
towards judged passages.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

from engine.corpus import read_queries
from engine.errors import EngineError
from engine.evaluation.data import Benchmark, Judgement, LanguagePart, assemble
from engine.evaluation.download import raw_url
from engine.evaluation.sources import (
    MIRACL_CORPUS_SOURCE,
    MIRACL_TOPICS_REPOSITORY,
    MIRACL_TOPICS_SOURCE,
    NOMIRACL_SOURCE,
    require_file,
)

MIRACL_LANGUAGES = ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te",
                    "th", "yo", "zh")
CORPUS_NAMES = ("{lang}-feed.jsonl.zst", "{lang}.jsonl.zst", "{lang}.jsonl.gz", "{lang}.jsonl")


def corpus_file(root: Path, lang: str) -> Path | None:
    for pattern in CORPUS_NAMES:
        path = root / "miracl" / "corpus" / pattern.format(lang=lang)
        if path.is_file():
            return path
    return None


def subset_file(root: Path, lang: str) -> Path:
    return root / "miracl" / "nomiracl" / f"nomiracl-passages.{lang}.jsonl.gz"


def corpus_languages(root: Path) -> list[str]:
    return [lang for lang in MIRACL_LANGUAGES if corpus_file(root, lang)]


def subset_languages(root: Path) -> list[str]:
    return [lang for lang in MIRACL_LANGUAGES if subset_file(root, lang).is_file()]


def load_miracl(root: Path, languages: list[str], max_queries: int | None = None) -> Benchmark:
    parts = []
    for lang in languages:
        path = corpus_file(root, lang)
        if path is None:
            looked = root / "miracl" / "corpus" / CORPUS_NAMES[0].format(lang=lang)
            raise EngineError(f"miracl: no {lang} corpus at {looked}; get it from {MIRACL_CORPUS_SOURCE}, "
                              "or compare models on the miracl-subset benchmark instead")
        parts.append(_language_part(root, lang, path, keep_outside_pool=True))
    return assemble("miracl", parts, max_queries)


def load_miracl_subset(root: Path, languages: list[str], max_queries: int | None = None) -> Benchmark:
    parts = []
    for lang in languages:
        path = require_file(subset_file(root, lang), "miracl-subset", NOMIRACL_SOURCE)
        parts.append(_language_part(root, lang, path, keep_outside_pool=False))
    return assemble("miracl-subset", parts, max_queries)


def _language_part(root: Path, lang: str, passages_path: Path, keep_outside_pool: bool) -> LanguagePart:
    topics_name, qrels_name = f"topics.miracl-v1.0-{lang}-dev.tsv", f"qrels.miracl-v1.0-{lang}-dev.tsv"
    topics = read_topics(require_file(root / "miracl" / "topics" / topics_name, "miracl", MIRACL_TOPICS_SOURCE,
                                      raw_url(f"{MIRACL_TOPICS_REPOSITORY}/{topics_name}")))
    qrels = read_qrels(require_file(root / "miracl" / "qrels" / qrels_name, "miracl", MIRACL_TOPICS_SOURCE,
                                    raw_url(f"{MIRACL_TOPICS_REPOSITORY}/{qrels_name}")))
    part = LanguagePart(lang, candidate_fields={"title": [], "text": []})
    for docid, title, text in read_passages(passages_path):
        part.candidate_ids.append(docid)
        part.candidate_fields["title"].append(title)
        part.candidate_fields["text"].append(text)
    pool = set(part.candidate_ids)
    if len(pool) != len(part.candidate_ids):
        raise EngineError(f"{passages_path} lists some docids more than once")
    for qid, text in topics.items():
        positives = [(docid, rel) for docid, rel in qrels.get(qid, {}).items() if rel > 0]
        judged = [Judgement(lang, docid, float(rel))
                  for docid, rel in positives if keep_outside_pool or docid in pool]
        if judged:
            part.query_ids.append(qid)
            part.query_texts.append(text)
            part.judgements.append(judged)
    return part


def read_topics(path: Path) -> dict[str, str]:
    """`qid<TAB>query` lines, in file order (the same format `engine search --queries` reads)."""
    with open(path, "rb") as handle:
        return dict(zip(*read_queries(handle, str(path))))


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels: `qid Q0 docid relevance` lines."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _lines(path):
        fields = line.split()
        if len(fields) != 4 or not fields[3].lstrip("-").isdigit():
            raise EngineError(f"{path}:{number}: expected `qid Q0 docid relevance`")
        qrels.setdefault(fields[0], {})[fields[2]] = int(fields[3])
    return qrels


def read_passages(path: Path) -> Iterator[tuple[str, str, str]]:
    """(docid, title, text) from JSONL (plain, .gz or .zst): `{"docid","title","text"}` records
    or Vespa feed operations `{"put", "fields": {"doc_id","title","text"}}`."""
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _passage(line, f"{path}:{number}")
    except _decode_errors() as err:
        raise EngineError(f"{path} is corrupt or truncated: {err}") from None


def _passage(line: str, where: str) -> tuple[str, str, str]:
    try:
        record = json.loads(line)
        fields = record.get("fields", record)
        docid = fields["docid"] if "docid" in fields else fields["doc_id"]
        return str(docid), fields.get("title") or "", str(fields["text"])
    except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
        raise EngineError(f"{where}: expected a JSON passage with a docid and a text") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise EngineError(f"{path} is not UTF-8 text: {err}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.rstrip("\r")


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise EngineError(f"reading {path} needs the zstandard package: pip install zstandard") from None
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True),
                                encoding="utf-8")
    return open(path, encoding="utf-8")


def _decode_errors() -> tuple[type[Exception], ...]:
    errors = (OSError, EOFError, UnicodeDecodeError, zlib.error)
    try:
        import zstandard
    except ImportError:
        return errors
    return errors + (zstandard.ZstdError,)
