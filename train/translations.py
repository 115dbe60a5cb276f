"""Alignment data on disk: groups of translations of one sentence, one JSON object per line (JSONL).

    {"group": "flores200/431", "sentences": {"en": "Turkey is surrounded ...", "yo": "Orile ede Turkey ..."}}

- `group`: a non-empty string, unique in the file.
- `sentences`: two or more languages, keyed by ISO 639 code (engine.languages.check_language_code),
  each a non-empty string.

The trainer's anchoring term (train.anchoring) pulls the student's embedding of each translation
towards the teacher's embedding of the group's source-language sentence (English by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError
from engine.jsonl import read_json_objects, write_json_lines
from engine.languages import check_language_code


@dataclass(frozen=True)
class TranslationGroup:
    group: str
    sentences: dict[str, str]


def write_translation_groups(path: str | Path, groups) -> int:
    """Write `groups` (TranslationGroup) as JSONL; return how many were written."""
    return write_json_lines(path, ({"group": group.group, "sentences": group.sentences} for group in groups),
                            "translation groups")


def read_translation_groups(path: str | Path) -> list[TranslationGroup]:
    """Read and validate a JSONL file of translation groups; raise EngineError naming the file and line."""
    path = Path(path)
    groups, seen = [], {}
    for number, record in read_json_objects(path, "alignment data"):
        where = f"{path}:{number}"
        name = record.get("group")
        if not isinstance(name, str) or not name.strip():
            raise EngineError(f"{where}: missing or empty field 'group'")
        if name in seen:
            raise EngineError(f"{where}: group {name!r} was already given on line {seen[name]}")
        sentences = record.get("sentences")
        if not isinstance(sentences, dict) or len(sentences) < 2:
            raise EngineError(f"{where}: field 'sentences' must be an object with two or more languages "
                              "(is this a pair-group file? alignment data holds translation groups)")
        for lang, text in sentences.items():
            check_language_code(lang, where)
            if not isinstance(text, str) or not text.strip():
                raise EngineError(f"{where}: sentences.{lang} is empty or not a string")
        seen[name] = number
        groups.append(TranslationGroup(name, dict(sentences)))
    if not groups:
        raise EngineError(f"{path} holds no translation groups")
    return groups


def restrict_languages(groups: list[TranslationGroup], languages: list[str] | None,
                       what: str) -> list[TranslationGroup]:
    """Each group with only `languages` (all when None); groups left with one language are dropped.
    A requested language that no group has is an error naming `what` (the source or file)."""
    if languages is None:
        return groups
    found = {lang for group in groups for lang in group.sentences}
    missing = [lang for lang in languages if lang not in found]
    if missing:
        raise EngineError(f"{what} has no parallel sentences in {missing[0]!r} (it has {len(found)} languages: "
                          f"{', '.join(sorted(found)[:40])}{', ...' if len(found) > 40 else ''})")
    kept = [TranslationGroup(group.group, {lang: text for lang, text in group.sentences.items() if lang in languages})
            for group in groups]
    return [group for group in kept if len(group.sentences) > 1]
