"""Passage metadata in SQLite: one row per live passage, keyed by its graph label."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from engine.corpus import Passage
from engine.errors import EngineError

_SCHEMA = """
CREATE TABLE passages (
    label INTEGER PRIMARY KEY,
    id    TEXT NOT NULL UNIQUE,
    lang  TEXT NOT NULL,
    title TEXT NOT NULL,
    text  TEXT NOT NULL,
    extra TEXT NOT NULL
);
CREATE INDEX passages_lang ON passages(lang);
"""
# SQLite limits the number of bound parameters per statement.
_MAX_PARAMS = 900


def _read_only_uri(path: Path) -> str:
    """A SQLite URI; as_uri() percent-escapes '#', '?' and '%' in the path."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def create(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
    db.close()


def insert(path: Path, passages: list[Passage], first_label: int) -> None:
    rows = (
        (first_label + offset, p.id, p.lang, p.title, p.text, json.dumps(p.extra, ensure_ascii=False))
        for offset, p in enumerate(passages)
    )
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.close()


def delete(path: Path, labels: list[int]) -> None:
    with sqlite3.connect(path) as db:
        db.executemany("DELETE FROM passages WHERE label = ?", ((label,) for label in labels))
    db.close()


def read_catalogue(path: Path) -> list[tuple[int, str, str]]:
    """(label, id, lang) of every live passage, in label order."""
    db = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        return db.execute("SELECT label, id, lang FROM passages ORDER BY label").fetchall()
    finally:
        db.close()


class MetadataReader:
    """Read-only lookups of title, text and extra fields, through one connection opened with the index.

    The connection is opened at once, not on first use, so it reads the version of meta.sqlite the
    index was opened from even after a writer swaps a new version into place (the open file outlives
    the rename; a version's file is never changed in place, hence immutable=1). Threads share it
    under a lock: a lookup is well under a millisecond."""

    def __init__(self, path: Path):
        self._db_connection = sqlite3.connect(_read_only_uri(path) + "&immutable=1", uri=True,
                                              check_same_thread=False)
        self._db_connection.execute("SELECT 1 FROM passages LIMIT 1").fetchall()  # open the file now
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db_connection.close()

    def fetch(self, labels) -> dict[int, tuple[str, str, dict]]:
        """label -> (title, text, extra) for the given labels."""
        unique = sorted(set(int(label) for label in labels))
        found = {}
        with self._lock:
            if self._closed:
                raise EngineError("this index has been closed: open it again to read passages")
            for start in range(0, len(unique), _MAX_PARAMS):
                chunk = unique[start:start + _MAX_PARAMS]
                marks = ",".join("?" * len(chunk))
                for label, title, text, extra in self._db_connection.execute(
                    f"SELECT label, title, text, extra FROM passages WHERE label IN ({marks})", chunk
                ):
                    found[label] = (title, text, json.loads(extra))
        return found
