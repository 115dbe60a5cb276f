"""Seeded samples of real evaluation collections, written as JSONL corpora for the build benchmarks."""

import json

import numpy as np
import pytest

from engine.errors import EngineError


def sample_corpus(name: str, languages: list[str] | None, path, count: int):
    """A JSONL corpus of `count` candidate passages of benchmark `name` (in `languages`), drawn with a
    fixed seed; the test is skipped when the data is not under ENGINE_DATA_DIR."""
    from engine.evaluation.evaluate import EvalOptions, prepare

    try:
        prepared = prepare(name, EvalOptions(languages=languages, quiet=True))
    except EngineError as err:
        pytest.skip(f"{name} data is not under ENGINE_DATA_DIR: {err}")
    bench = prepared.bench
    texts = bench.candidate_texts(prepared.spec.texts[prepared.text])
    rows = np.random.default_rng(0).permutation(len(texts))[:count]
    with open(path, "w", encoding="utf-8") as handle:
        for row in sorted(rows):
            handle.write(json.dumps({"id": bench.candidate_ids[row], "lang": bench.languages[bench.candidate_langs[row]],
                                     "text": texts[row]}, ensure_ascii=False) + "\n")
    return path
