"""The bundled demo corpus and sample questions (engine/demo/)."""

import csv
from importlib import resources
from pathlib import Path


def demo_file(name: str) -> Path:
    return Path(str(resources.files("engine") / "demo" / name))


def read_demo_queries() -> list[tuple[str, str, str]]:
    """(qid, lang, question) rows of demo/queries.tsv."""
    with open(demo_file("queries.tsv"), encoding="utf-8", newline="") as handle:
        return [tuple(row) for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
