"""The files that let sentence-transformers load an HF model dir as Transformer → Pooling → Normalize."""

from __future__ import annotations

import json
from pathlib import Path

from export.model_settings import EncoderSettings

_POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens",
                  "lasttoken")
_ST_POOLING_NAME = {"mean": "mean_tokens", "cls": "cls_token"}


def write_sentence_transformers_files(model_dir: Path, settings: EncoderSettings, dimension: int) -> None:
    model_dir = Path(model_dir)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if settings.normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (model_dir / "2_Normalize").mkdir()
    _write_json(model_dir / "modules.json", modules)

    chosen = _ST_POOLING_NAME[settings.pooling]
    pooling = {"word_embedding_dimension": dimension}
    pooling.update({f"pooling_mode_{mode}": mode == chosen for mode in _POOLING_MODES})
    pooling["include_prompt"] = True
    (model_dir / "1_Pooling").mkdir()
    _write_json(model_dir / "1_Pooling" / "config.json", pooling)

    _write_json(model_dir / "config_sentence_transformers.json", {
        "prompts": {"query": settings.query_prefix, "passage": settings.passage_prefix},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    _write_json(model_dir / "sentence_bert_config.json",
                {"max_seq_length": settings.max_length, "do_lower_case": False})


def _write_json(path: Path, content) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
