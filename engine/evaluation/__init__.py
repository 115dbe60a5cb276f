"""Retrieval evaluation: XQuAD-R, MLQA-R, MIRACL, language bias."""
