"""Weight-space merging of a fine-tuned model with its base (WiSE-FT, Wortsman et al. 2022).

    merged = (1 - ratio) * base + ratio * tuned, tensor by tensor

ratio 0 gives the base model back, 1 the fine-tuned one; in between keeps part of what each knows.
The result is an HF model dir with the fine-tuned model's tokenizer and embedding settings, which
`engine export` takes as it is, plus `merge.json` saying what was merged.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.atomic_dir import replace_dir
from engine.errors import EngineError
from export.base_models import resolve_base_model
from export.hf_tokenizer import load_hf_tokenizer
from export.model_settings import read_settings, write_settings
from export.sentence_transformers_files import write_sentence_transformers_files

MERGE_RECORD = "merge.json"
# Config fields two models must share for their weights to be averaged meaningfully.
_SHAPE_FIELDS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "vocab_size", "max_position_embeddings", "type_vocab_size")


def merge_models(base: str | Path, tuned: str | Path, ratio: float, out_dir: Path, quiet: bool = False) -> Path:
    """Write (1 - ratio) * base + ratio * tuned to `out_dir` (replaced as a whole); return it."""
    import torch
    from transformers import AutoConfig, AutoModel

    if not 0.0 <= ratio <= 1.0:
        raise EngineError(f"the merge ratio must be between 0 and 1, got {ratio}")
    base_dir, tuned_dir = resolve_base_model(base, quiet), resolve_base_model(tuned, quiet)
    base_config, tuned_config = AutoConfig.from_pretrained(base_dir), AutoConfig.from_pretrained(tuned_dir)
    differing = [name for name in _SHAPE_FIELDS if getattr(base_config, name, None) != getattr(tuned_config, name, None)]
    if differing:
        name = differing[0]
        raise EngineError(f"cannot merge {base_dir} and {tuned_dir}: they differ in {', '.join(differing)} "
                          f"({name} {getattr(base_config, name, None)} vs {getattr(tuned_config, name, None)}); "
                          "merge a fine-tuned model with the model it was fine-tuned from")
    tokenizer = load_hf_tokenizer(tuned_dir)
    if load_hf_tokenizer(base_dir).get_vocab() != tokenizer.get_vocab():
        raise EngineError(f"cannot merge {base_dir} and {tuned_dir}: their tokenizers' vocabularies differ")
    merged_model = AutoModel.from_pretrained(tuned_dir)
    base_state = AutoModel.from_pretrained(base_dir).state_dict()
    merged = {}
    for name, tensor in merged_model.state_dict().items():
        if name not in base_state or base_state[name].shape != tensor.shape:
            raise EngineError(f"cannot merge {base_dir} and {tuned_dir}: weight {name} is missing from the base "
                              "model or has another shape")
        # Integer buffers (position ids) are not weights: keep the fine-tuned model's.
        merged[name] = torch.lerp(base_state[name], tensor, ratio) if tensor.is_floating_point() else tensor
    merged_model.load_state_dict(merged)
    settings = read_settings(tuned_dir)
    with replace_dir(Path(out_dir)) as temp:
        merged_model.save_pretrained(temp)
        tokenizer.save_pretrained(temp)
        write_settings(temp, settings)
        write_sentence_transformers_files(temp, settings, merged_model.config.hidden_size)
        record = {"base": str(base), "tuned": str(tuned), "ratio": ratio, "formula": "(1 - ratio) * base + ratio * tuned"}
        (temp / MERGE_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Path(out_dir)
