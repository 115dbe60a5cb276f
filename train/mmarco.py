"""Pair groups from mMARCO-style files: MS MARCO translated into several languages, ids shared.

Layout (mMARCO keeps MS MARCO's query and passage ids in every translation, so one triple of ids
makes a parallel group across all languages):

    DIR/triples.tsv             qid <TAB> positive pid <TAB> negative pid   (triples.train.ids.small.tsv)
    DIR/<lang>/queries.tsv      qid <TAB> query text                        (<language>_queries.train.tsv)
    DIR/<lang>/collection.tsv   pid <TAB> passage text                      (<language>_collection.tsv)

<lang> is an ISO 639 code (en, pt, de, ...). Only the passages the chosen triples name are kept in
memory, so a full 8.8M-passage collection is streamed, not loaded.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from engine.errors import EngineError
from engine.languages import check_language_code
from train.pairs import Pair, PairGroup

csv.field_size_limit(sys.maxsize)  # MS MARCO passages can be long


def mmarco_pair_groups(root: Path, max_queries: int | None = None) -> list[PairGroup]:
    """One group per query of the first `max_queries` distinct queries in triples.tsv (its first
    triple: positive and one hard negative), with a pair in every language that has all three texts."""
    root = Path(root)
    languages = sorted(path.name for path in root.iterdir() if path.is_dir()) if root.is_dir() else []
    if not languages:
        raise EngineError(f"mMARCO dir {root} has no language folders (<lang>/queries.tsv, <lang>/collection.tsv)")
    for lang in languages:
        check_language_code(lang, f"mMARCO folder {root / lang}")
    triples = _first_triple_per_query(root / "triples.tsv", max_queries)
    passage_ids = {pid for _, positive, negative in triples for pid in (positive, negative)}
    query_ids = {qid for qid, _, _ in triples}
    texts = {lang: (_texts(root / lang / "queries.tsv", query_ids), _texts(root / lang / "collection.tsv", passage_ids))
             for lang in languages}
    groups = []
    for qid, positive, negative in triples:
        pairs = {lang: Pair(queries[qid], passages[positive], (passages[negative],))
                 for lang, (queries, passages) in texts.items()
                 if qid in queries and positive in passages and negative in passages}
        if pairs:
            groups.append(PairGroup(f"mmarco/{qid}", pairs))
    if not groups:
        raise EngineError(f"no triple of {root / 'triples.tsv'} has its query and passages in any language of {root}")
    return groups


def _first_triple_per_query(path: Path, max_queries: int | None) -> list[tuple[str, str, str]]:
    triples, seen = [], set()
    for number, row in _rows(path):
        if len(row) != 3:
            raise EngineError(f"{path}:{number}: expected qid, positive pid, negative pid (3 columns), got {len(row)}")
        if row[0] not in seen:
            seen.add(row[0])
            triples.append((row[0], row[1], row[2]))
            if max_queries is not None and len(triples) >= max_queries:
                break
    if not triples:
        raise EngineError(f"{path} holds no triples")
    return triples


def _texts(path: Path, wanted: set[str]) -> dict[str, str]:
    """id -> text for the wanted ids; every line is checked, not only the wanted ones."""
    found = {}
    for number, row in _rows(path):
        if len(row) != 2 or not row[1].strip():
            raise EngineError(f"{path}:{number}: expected id <TAB> non-empty text")
        if row[0] in wanted:
            found[row[0]] = row[1]
    return found


def _rows(path: Path):
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1)
    except FileNotFoundError:
        raise EngineError(f"mMARCO file {path} is missing") from None
    except UnicodeDecodeError as err:
        raise EngineError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise EngineError(f"cannot read mMARCO file {path}: {err.strerror}") from None
