"""How far each exported variant drifts from the fp32 torch model, on a fixed multilingual sample.

Variants run exactly as the engine serves them (engine.encoder: the bundle's tokenizer, ONNX
Runtime, the manifest's pooling); the reference is the HF model in torch fp32 on the same token
ids. Reported per variant: mean and min cosine over all sample texts, and the mean fraction of
shared top-10 passages over the sample's queries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.bundle import ModelBundle
from engine.encoder import Encoder
from engine.errors import EngineError
from export.parity_texts import PASSAGES, QUERIES

# An int8 graph below this mean cosine to fp32 loses noticeable retrieval quality.
INT8_MIN_MEAN_COSINE = 0.99
TOP_K = 10


def parity_report(model_dir: Path, bundle: ModelBundle) -> dict[str, dict[str, float]]:
    encoders = {variant: Encoder(bundle, variant=variant, device="cpu") for variant in bundle.variants}
    tokenize = next(iter(encoders.values())).tokenize
    queries = tokenize(QUERIES, bundle.query_prefix)
    passages = tokenize(PASSAGES, bundle.passage_prefix)
    reference = _TorchReference(model_dir, bundle.pooling)
    expected = _Embedded(reference.embed(queries), reference.embed(passages))
    return {
        variant: _compare(_Embedded(encoder.embed(queries), encoder.embed(passages)), expected)
        for variant, encoder in encoders.items()
    }


def int8_passes(report: dict) -> bool:
    return report["int8"]["mean_cosine"] >= INT8_MIN_MEAN_COSINE


def check_int8_parity(report: dict, force: bool) -> None:
    if "int8" not in report or force:
        return
    mean_cosine = report["int8"]["mean_cosine"]
    if not int8_passes(report):
        raise EngineError(
            f"the int8 variant's mean cosine to the fp32 model is {mean_cosine:.4f}, below "
            f"{INT8_MIN_MEAN_COSINE}: quantisation hurts this model. Export without int8 "
            "(quantize none / fp16) or force it"
        )


def format_parity_report(manifest: dict) -> str:
    """The manifest's parity figures as a table, one row per variant."""
    parity = manifest.get("parity")
    if not parity:
        return "no parity report in this bundle"
    lines = [
        f"parity with the fp32 torch model ({len(QUERIES) + len(PASSAGES)} multilingual texts; "
        f"top-{TOP_K} overlap over {len(QUERIES)} queries x {len(PASSAGES)} passages)",
        f"  {'variant':<8} {'mean cos':>9} {'min cos':>9} {'top-10':>7}  quantization",
    ]
    for variant, figures in parity.items():
        description = manifest.get("variants", {}).get(variant, {}).get("quantization", "")
        lines.append(f"  {variant:<8} {figures['mean_cosine']:>9.5f} {figures['min_cosine']:>9.5f} "
                     f"{figures['top10_overlap']:>7.3f}  {description}")
    tried = manifest.get("variants", {}).get("int8", {}).get("recipes_tried", {})
    if len(tried) > 1:
        lines.append("  int8 recipes tried (mean cos): " + ", ".join(f"{name} {cos:.5f}" for name, cos in tried.items()))
    return "\n".join(lines)


class _Embedded:
    def __init__(self, queries: np.ndarray, passages: np.ndarray):
        self.queries = _unit(queries)
        self.passages = _unit(passages)

    def all(self) -> np.ndarray:
        return np.concatenate([self.queries, self.passages])

    def top_k(self) -> np.ndarray:
        return np.argsort(-(self.queries @ self.passages.T), axis=1, kind="stable")[:, :TOP_K]


def _compare(actual: _Embedded, expected: _Embedded) -> dict[str, float]:
    cosines = np.sum(actual.all() * expected.all(), axis=1)
    shared = [len(set(a) & set(e)) / TOP_K for a, e in zip(actual.top_k(), expected.top_k())]
    return {
        "mean_cosine": round(float(cosines.mean()), 6),
        "min_cosine": round(float(cosines.min()), 6),
        "top10_overlap": round(float(np.mean(shared)), 4),
    }


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class _TorchReference:
    """Unnormalised pooled embeddings: cosines are taken after scaling every vector to unit length."""

    def __init__(self, model_dir: Path, pooling: str):
        from transformers import AutoModel

        self.model = AutoModel.from_pretrained(model_dir, dtype="float32").eval()
        self.pooling = pooling

    def embed(self, encodings) -> np.ndarray:
        import torch

        width = max(len(encoding.ids) for encoding in encodings)
        ids = torch.zeros((len(encodings), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = torch.tensor(encoding.ids)
            mask[row, :len(encoding.ids)] = 1
        with torch.inference_mode():
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0].numpy()
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return ((hidden * weights).sum(1) / weights.sum(1).clamp(min=1)).numpy()
