"""Where each evaluation dataset lives in the data dir, and what to say when it is not there."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.download import fetch, offline
from engine.paths import data_dir

LAREQA_SOURCE = "https://github.com/google-research-datasets/lareqa"
# Where missing files are fetched from (engine.evaluation.download.raw_url: owner/repo/branch/dir).
LAREQA_REPOSITORY = "google-research-datasets/lareqa/master"
MIRACL_TOPICS_REPOSITORY = "castorini/anserini-tools/master/topics-and-qrels"
MIRACL_TOPICS_SOURCE = ("https://github.com/castorini/anserini-tools/tree/master/topics-and-qrels "
                        "or https://huggingface.co/datasets/miracl/miracl")
MIRACL_CORPUS_SOURCE = "https://huggingface.co/datasets/miracl/miracl-corpus"
NOMIRACL_SOURCE = "MIRACL passages parsed out of https://github.com/project-miracl/nomiracl results/ dumps"


def data_root(needs: str) -> Path:
    """The data dir: $ENGINE_DATA_DIR, which must exist, else <cache>/data, made on first use when
    files may be fetched. `needs` says what the caller's dataset must find there and where it
    comes from."""
    root = data_dir()
    if not os.environ.get("ENGINE_DATA_DIR") and not offline():
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise EngineError(f"the evaluation data dir {root} does not exist ({_why(root)}); set ENGINE_DATA_DIR "
                          f"to a dir holding {needs}, or put them in {root}")
    return root


def require_file(path: Path, dataset: str, source: str, url: str | None = None) -> Path:
    """`path` if it is a file; else fetched from `url` when there is one (and fetching is on);
    else an error naming where it was looked for and where to get it."""
    if path.is_file():
        return path
    failure = "fetching is off (ENGINE_OFFLINE)" if offline() else "no public download URL is known"
    if url is not None and not offline():
        failure = f"fetching {url} failed: {fetch(url, path)}"
        if path.is_file():
            return path
    raise EngineError(f"{dataset}: {path} not found ({_why(data_dir())}; {failure}); "
                      f"get it from {source} and put it there, or set ENGINE_DATA_DIR")


def _why(root: Path) -> str:
    if os.environ.get("ENGINE_DATA_DIR"):
        return "the data dir comes from ENGINE_DATA_DIR"
    return f"the data dir is {root} because ENGINE_DATA_DIR is not set"
