"""What an index manifest and a bundle manifest must hold: fields, types and ranges, in one place.

A schema is a dict of field name -> Field. `check(manifest, schema, where)` raises one EngineError that
names the file and the field path (`model.dimension`) for the first finding; `findings()` lists all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import EngineError

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = True
    valid: Callable[[object], str | None] | None = None  # returns what is wrong, or None
    fields: dict[str, Field] | None = None  # a nested object's schema (closed: no other keys)
    entries: Field | None = None  # a mapping whose every value follows this (names are free)
    items: Field | None = None  # a list whose every item follows this


def at_least(low: int):
    return lambda value: None if value >= low else f"must be at least {low}"


def one_of(*choices):
    return lambda value: None if value in choices else f"must be one of {', '.join(map(repr, choices))}"


def nonempty(value) -> str | None:
    return None if value else "must not be empty"


def sha256(value) -> str | None:
    return None if SHA256.match(value) else "must be 64 lowercase hex digits"


def findings(value, schema: dict[str, Field], path: str = "", closed: bool = False) -> list[str]:
    """Every way `value` (a JSON object) breaks `schema`, as `field.path: problem` lines."""
    if not isinstance(value, dict):
        return [f"{path or 'the manifest'}: must be a JSON object"]
    found = []
    for name, spec in schema.items():
        where = f"{path}{name}"
        if name not in value:
            if spec.required:
                found.append(f"{where}: missing")
            continue
        found += _field_findings(value[name], spec, where)
    if closed:
        found += [f"{path}{name}: unknown field" for name in value if name not in schema]
    return found


def check(value, schema: dict[str, Field], where: str) -> None:
    found = findings(value, schema)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise EngineError(f"{where}: {found[0]}{more}: the manifest is damaged or from another tool")


def _field_findings(value, spec: Field, where: str) -> list[str]:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    # JSON has no int/bool distinction in Python's eyes: True is an int, so refuse it explicitly.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        return [f"{where}: must be {names}, got {type(value).__name__} {value!r}"[:200]]
    if spec.valid is not None:
        problem = spec.valid(value)
        if problem:
            return [f"{where}: {problem}, got {value!r}"[:200]]
    if spec.fields is not None:
        return findings(value, spec.fields, f"{where}.", closed=True)
    if spec.items is not None:
        return [problem for number, item in enumerate(value)
                for problem in _field_findings(item, spec.items, f"{where}[{number}]")]
    if spec.entries is not None:
        return [problem for key, entry in value.items() for problem in _field_findings(entry, spec.entries,
                                                                                        f"{where}.{key}")]
    return []
