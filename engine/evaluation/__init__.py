"""Retrieval evaluation: XQuAD-R, MLQA-R, MIRACL (and a labelled MIRACL-subset), language bias.

Read in pipeline order: sources (where data lives) -> lareqa, miracl (loaders) -> data (the loaded
benchmark) -> benchmarks (the registry) -> encoding, embedding_cache -> scoring (exact, one pass)
and hnsw_ranking (approximate) -> pools -> metrics -> figures -> evaluate (the Python API:
`evaluate(name, encoder, EvalOptions(...))`) -> summary, outputs, run_files, heatmap -> cli.
This package's __init__ stays empty so `engine --help` does not import numba or matplotlib.
"""
