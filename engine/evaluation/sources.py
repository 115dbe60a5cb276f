"""Where each evaluation dataset lives in the data dir, and what to say when it is not there."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import EngineError
from engine.paths import data_dir

LAREQA_SOURCE = "https://github.com/google-research-datasets/lareqa"
MIRACL_TOPICS_SOURCE = ("https://github.com/castorini/anserini-tools/tree/master/topics-and-qrels "
                        "or https://huggingface.co/datasets/miracl/miracl")
MIRACL_CORPUS_SOURCE = "https://huggingface.co/datasets/miracl/miracl-corpus"
NOMIRACL_SOURCE = "MIRACL passages parsed out of https://github.com/project-miracl/nomiracl results/ dumps"


def data_root(needs: str) -> Path:
    """The data dir, which must exist: $ENGINE_DATA_DIR, else <cache>/data. `needs` says what the
    caller's dataset must find there and where it comes from."""
    root = data_dir()
    if not root.is_dir():
        raise EngineError(f"the evaluation data dir {root} does not exist ({_why(root)}); set ENGINE_DATA_DIR "
                          f"to a dir holding {needs}, or put them in {root}")
    return root


def require_file(path: Path, dataset: str, source: str) -> Path:
    """`path` if it is a file, else an error naming where it was looked for and where to get it."""
    if not path.is_file():
        raise EngineError(f"{dataset}: {path} not found ({_why(data_dir())}); "
                          f"get it from {source} and put it there, or set ENGINE_DATA_DIR")
    return path


def _why(root: Path) -> str:
    if os.environ.get("ENGINE_DATA_DIR"):
        return "the data dir comes from ENGINE_DATA_DIR"
    return f"the data dir is {root} because ENGINE_DATA_DIR is not set"
