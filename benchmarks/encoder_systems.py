"""The encoders that benchmarks/test_encoders.py compares, each as `encode(texts, prefix) -> (n, dim)`.

Every system gets the same texts, prefix, batch size and thread count, and returns L2-normalised
float32 rows in input order. The engine and the torch baseline batch texts sorted by token count;
sentence-transformers sorts by character count, which pads multilingual batches far more.
"""

from __future__ import annotations

import os
import platform
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.bundle import ModelBundle
from engine.encoder import CPU, Encoder
from engine.machine import CPUINFO, cpu_flags
from export.model_settings import read_settings

BATCH_SIZE = 32


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return options


def engine_encode(bundle: ModelBundle, variant: str, threads: int):
    """The engine as served: bundle tokenizer, ONNX Runtime, Numba pooling (engine.encoder)."""
    return Encoder(bundle, variant=variant, device="cpu", intra_op_threads=threads, batch_size=BATCH_SIZE).encode


def in_engine_batches(encode_batch, tokenizer, max_length: int):
    """encode(texts, prefix) that hands `encode_batch` the engine's batches: prefixed texts sorted by
    token count (stable), BATCH_SIZE at a time, so every system pads the same tokens.

    `tokenizer` is the model's HF tokenizer; counting the tokens costs one extra tokenisation.
    """
    def encode(texts: list[str], prefix: str) -> np.ndarray:
        prefixed = [prefix + text for text in texts]
        lengths = [len(ids) for ids in tokenizer(prefixed, truncation=True, max_length=max_length)["input_ids"]]
        order = np.argsort(lengths, kind="stable")
        batches = [order[start:start + BATCH_SIZE] for start in range(0, len(order), BATCH_SIZE)]
        vectors = [encode_batch([prefixed[row] for row in rows]) for rows in batches]
        out = np.empty((len(texts), vectors[0].shape[1]), dtype=np.float32)
        for rows, batch_vectors in zip(batches, vectors):
            out[rows] = batch_vectors
        return out

    return encode


def torch_fp32(model_dir: Path):
    """transformers AutoModel in fp32 with masked mean pooling and L2 normalisation in torch, what a
    user writes by hand; fed the engine's batches. Threads come from torch.set_num_threads."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    settings = read_settings(model_dir)
    if settings.pooling != "mean" or not settings.normalize:
        raise ValueError(f"{model_dir}: the torch baseline does mean pooling + L2 normalisation only")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()

    def encode_batch(texts: list[str]) -> np.ndarray:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=settings.max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    return in_engine_batches(encode_batch, tokenizer, settings.max_length)


def sentence_transformers_encode(model, engine_batches: bool = False):
    """SentenceTransformer.encode with the prefix as its prompt (the model's Normalize module normalises).

    As users call it, it sorts all texts by character count before batching; with `engine_batches`
    it gets the engine's token-sorted batches instead, one call per batch.
    """
    def encode(texts: list[str], prefix: str) -> np.ndarray:
        return model.encode(texts, prompt=prefix, batch_size=BATCH_SIZE, show_progress_bar=False,
                            convert_to_numpy=True)

    if engine_batches:  # the batches come prefixed
        return in_engine_batches(lambda batch: encode(batch, ""), model.tokenizer, model.max_seq_length)
    return encode


def st_torch(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return sentence_transformers_encode(SentenceTransformer(str(model_dir), device="cpu"))


# Named by us: sentence-transformers' own name depends on the preset's weight type (qint8 or quint8).
ST_INT8_SUFFIX = "int8_cpu_preset"


def st_quantization_preset(cpuinfo: Path = CPUINFO) -> str:
    """The optimum preset a sentence-transformers user picks for this CPU: avx512_vnni, avx512, avx2 or arm64."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags(cpuinfo)
    for flag, preset in (("avx512_vnni", "avx512_vnni"), ("avx512f", "avx512"), ("avx2", "avx2")):
        if flag in flags:
            return preset
    return "avx2"


def st_int8_file() -> str:
    """Where sentence-transformers' dynamic quantisation writes its graph."""
    return f"onnx/model_{ST_INT8_SUFFIX}.onnx"


def export_st_onnx_int8(model_dir: Path, out_dir: Path) -> Path:
    """sentence-transformers' own recipe: ONNX backend export, then its dynamic int8 quantisation.

    It writes into the model dir, so it works on `out_dir`, a mirror of `model_dir` made of symlinks.
    The preset is the one its documentation has a user pick for this CPU.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    shutil.copytree(Path(model_dir).resolve(), out_dir, copy_function=os.symlink)
    with warnings.catch_warnings():  # the exporter's tracer and deprecation notes
        warnings.simplefilter("ignore")
        exported = SentenceTransformer(str(out_dir), device="cpu", backend="onnx")
        export_dynamic_quantized_onnx_model(exported, st_quantization_preset(), str(out_dir), file_suffix=ST_INT8_SUFFIX)
    if not (out_dir / st_int8_file()).is_file():
        raise FileNotFoundError(f"sentence-transformers wrote no {st_int8_file()} in {out_dir}")
    return out_dir


def st_onnx_int8(st_dir: Path, threads: int, engine_batches: bool = False):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(st_dir), device="cpu", backend="onnx", model_kwargs={
        "file_name": st_int8_file(), "provider": CPU, "session_options": session_options(threads)})
    return sentence_transformers_encode(model, engine_batches)
