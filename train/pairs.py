"""Training data on disk: groups of parallel query–passage pairs, one JSON object per line (JSONL).

One line is one group: the same query–passage pair written in several languages.

    {"group": "mlqa-r/5a1c...", "pairs": {
        "en": {"query": "Who ...?", "positive": "The passage ...", "negatives": ["A hard negative ..."]},
        "de": {"query": "Wer ...?", "positive": "Die Passage ..."}}}

- `group`: a non-empty string, unique in the file.
- `pairs`: at least one language, keyed by ISO 639 code (engine.languages.check_language_code).
- `query`, `positive`: non-empty strings; `negatives`: optional list of non-empty strings (hard
  negatives in the same language as the positive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import EngineError
from engine.jsonl import read_json_objects, write_json_lines
from engine.languages import check_language_code


@dataclass(frozen=True)
class Pair:
    query: str
    positive: str
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairGroup:
    group: str
    pairs: dict[str, Pair] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return list(self.pairs)


def write_pair_groups(path: str | Path, groups) -> int:
    """Write `groups` (PairGroup) as JSONL; return how many were written."""
    return write_json_lines(path, (_group_record(group) for group in groups), "training pairs")


def _group_record(group: PairGroup) -> dict:
    pairs = {}
    for lang, pair in group.pairs.items():
        pairs[lang] = {"query": pair.query, "positive": pair.positive}
        if pair.negatives:
            pairs[lang]["negatives"] = list(pair.negatives)
    return {"group": group.group, "pairs": pairs}


def read_pair_groups(path: str | Path) -> list[PairGroup]:
    """Read and validate a JSONL file of pair groups; raise EngineError naming the file and line."""
    path = Path(path)
    groups, seen = [], {}
    for number, record in read_json_objects(path, "training data"):
        where = f"{path}:{number}"
        group = _parse_group(record, where)
        if group.group in seen:
            raise EngineError(f"{where}: group {group.group!r} was already given on line {seen[group.group]}")
        seen[group.group] = number
        groups.append(group)
    if not groups:
        raise EngineError(f"{path} holds no pair groups")
    return groups


def _parse_group(record: dict, where: str) -> PairGroup:
    name = _text(record, "group", where)
    pairs = record.get("pairs")
    if not isinstance(pairs, dict):
        raise EngineError(f"{where}: missing field 'pairs' (an object keyed by language code)")
    if not pairs:
        raise EngineError(f"{where}: group {name!r} has no pairs")
    parsed = {}
    for lang, pair in pairs.items():
        check_language_code(lang, where)
        pair_where = f"{where}, pairs.{lang}"
        if not isinstance(pair, dict):
            raise EngineError(f"{pair_where}: expected an object with 'query' and 'positive'")
        negatives = pair.get("negatives", [])
        if not isinstance(negatives, list):
            raise EngineError(f"{pair_where}: field 'negatives' must be a list of strings")
        for index, negative in enumerate(negatives):
            if not isinstance(negative, str) or not negative.strip():
                raise EngineError(f"{pair_where}: negatives[{index}] is empty or not a string")
        parsed[lang] = Pair(_text(pair, "query", pair_where), _text(pair, "positive", pair_where), tuple(negatives))
    return PairGroup(name, parsed)


def _text(record: dict, key: str, where: str) -> str:
    if key not in record:
        raise EngineError(f"{where}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, str) or not value.strip():
        raise EngineError(f"{where}: field {key!r} is empty or not a string")
    return value
