"""Load a model dir's tokenizer with transformers, without its false alarm about Mistral regexes."""

from __future__ import annotations

from pathlib import Path


def load_hf_tokenizer(model_dir: str | Path):
    from transformers import AutoTokenizer

    # transformers 4.57.3+ warns of "an incorrect regex pattern" for any local tokenizer saved by
    # 4.57.3-4.x, Mistral or not; saying explicitly that no fix is wanted silences it. Tokenisation
    # is unchanged (tests/export/test_hf_tokenizer.py compares it with the serving tokenizer).
    return AutoTokenizer.from_pretrained(model_dir, fix_mistral_regex=False)
