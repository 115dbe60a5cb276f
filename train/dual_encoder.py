"""One transformers encoder used for both queries and passages (shared weights), pooled as its model dir says."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from engine.errors import EngineError
from export.hf_tokenizer import load_hf_tokenizer
from export.model_settings import read_settings, write_settings
from export.sentence_transformers_files import write_sentence_transformers_files


class DualEncoder(torch.nn.Module):
    def __init__(self, model_dir: str | Path, max_query_length: int, max_passage_length: int):
        from transformers import AutoModel

        super().__init__()
        self.model = AutoModel.from_pretrained(model_dir)
        self.tokenizer = load_hf_tokenizer(model_dir)
        self.settings = read_settings(model_dir)
        self.max_query_length = min(max_query_length, self.settings.max_length)
        self.max_passage_length = min(max_passage_length, self.settings.max_length)
        self.frozen: list[torch.nn.Module] = []  # kept in eval mode: see freeze_lower_layers

    def encode_queries(self, texts: list[str]) -> torch.Tensor:
        return self._encode(texts, self.settings.query_prefix, self.max_query_length)

    def encode_passages(self, texts: list[str]) -> torch.Tensor:
        return self._encode(texts, self.settings.passage_prefix, self.max_passage_length)

    def freeze_word_embeddings(self) -> None:
        self.model.get_input_embeddings().weight.requires_grad_(False)

    def freeze_lower_layers(self, count: int) -> None:
        """Keep the embeddings and the lowest `count` transformer layers as the base model has them.

        Nothing below the first trained layer needs a gradient, so a training step's backward pass stops
        there. The frozen part also runs without dropout (as at inference): it is a fixed feature extractor."""
        if count == 0:
            return  # nothing to freeze, whatever the architecture
        layers = getattr(getattr(self.model, "encoder", None), "layer", None)
        if layers is None or not hasattr(self.model, "embeddings"):
            raise EngineError(f"cannot freeze layers of a {type(self.model).__name__}: "
                              "only encoders with embeddings and encoder.layer (BERT, XLM-R) are supported")
        if not 0 <= count < len(layers):
            raise EngineError(f"freeze layers must be between 0 and {len(layers) - 1} "
                              f"(the model has {len(layers)} layers), got {count}")
        self.frozen = [self.model.embeddings, *layers[:count]]
        for module in self.frozen:
            module.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> DualEncoder:
        super().train(mode)
        for module in self.frozen:
            module.eval()
        return self

    def save(self, out_dir: Path) -> None:
        """An HF model dir: weights, tokenizer, engine_model.json and the sentence-transformers files."""
        self.model.save_pretrained(out_dir)
        self.tokenizer.save_pretrained(out_dir)
        write_settings(out_dir, self.settings)
        write_sentence_transformers_files(out_dir, self.settings, self.model.config.hidden_size)

    def _encode(self, texts: list[str], prefix: str, max_length: int) -> torch.Tensor:
        device = next(self.model.parameters()).device
        inputs = self.tokenizer([prefix + text for text in texts], padding=True, truncation=True,
                                max_length=max_length, return_tensors="pt").to(device)
        hidden = self.model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
        if self.settings.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1) if self.settings.normalize else pooled
