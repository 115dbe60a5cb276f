"""Random benchmarks with known vectors, for checking ranks and metrics against brute force."""

import numpy as np

from engine.evaluation.data import Judgement, LanguagePart, assemble

# Scores of unit vectors lie in [-1, 1]; a float32 dot product summed in another order (another CPU's
# SIMD width) differs by a few 1e-8, so compare scores with this absolute tolerance.
FLOAT32_SCORE_TOLERANCE = 1e-6


def random_benchmark(seed: int, languages=("en", "de", "sw"), queries=12, candidates=40, dimension=8,
                     graded=False, parallel=True):
    """Unit vectors for queries and candidates. parallel: every query has one relevant candidate in each
    language (XQuAD-R style); otherwise 1-4 graded relevant candidates in its own language (MIRACL style)."""
    rng = np.random.default_rng(seed)
    parts = []
    for lang in languages:
        part = LanguagePart(lang, candidate_ids=[f"c{i}" for i in range(candidates)],
                            candidate_fields={"text": [f"{lang} candidate {i}" for i in range(candidates)]})
        parts.append(part)
    answers = {lang: rng.integers(0, candidates, size=queries) for lang in languages}
    for part in parts:
        for q in range(queries):
            part.query_ids.append(f"q{q}")
            part.query_texts.append(f"{part.lang} query {q}")
            if parallel:
                part.judgements.append([Judgement(lang, f"c{answers[lang][q]}") for lang in languages])
            else:
                chosen = rng.choice(candidates, size=rng.integers(1, 5), replace=False)
                part.judgements.append([Judgement(part.lang, f"c{c}", float(rng.integers(1, 3) if graded else 1))
                                        for c in chosen])
    bench = assemble("synthetic", parts)
    query_vectors = _unit(rng.standard_normal((len(bench.query_ids), dimension)))
    candidate_vectors = _unit(rng.standard_normal((len(bench.candidate_ids), dimension)))
    return bench, query_vectors, candidate_vectors


def _unit(vectors):
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
