"""HF model dir → ONNX graphs: the fp32 export (output `last_hidden_state`), its CPU-optimised form,
a dynamic int8 quantisation for CPU and an fp16 conversion for GPU. Pooling stays outside the graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError

TASK = "feature-extraction"
CPU_OPTIMIZATION_LEVEL = 2  # optimum's O2: ORT extended optimisations + transformer fusions, exact fp32
# Per-channel weight scales: on the default model, mean cosine to fp32 0.9965 vs 0.9877 per-tensor,
# at the same speed and size.
INT8_PER_CHANNEL = True
# What every int8 graph this export writes has in common; a bundle's description adds its recipe.
INT8_FORMAT = ("dynamic int8 (u8 activations, s8 weights in 7 bits), "
               f"{'per-channel' if INT8_PER_CHANNEL else 'per-tensor'}")


def int8_format_of(description: str) -> str:
    """A recorded int8 description without its recipe (which may differ between models of one format)."""
    return re.sub(r", recipe .*$", "", description)


@dataclass(frozen=True)
class Graph:
    path: Path
    description: str


def check_exportable(model_type: str) -> None:
    from optimum.exporters.onnx import main_export  # noqa: F401  (registers the ONNX configs)
    from optimum.exporters.tasks import TasksManager

    try:
        tasks = TasksManager.get_supported_tasks_for_model_type(model_type, "onnx", library_name="transformers")
    except KeyError:
        tasks = {}
    if TASK not in tasks:
        raise EngineError(f"model_type {model_type!r} cannot be exported to ONNX by Optimum for {TASK}")


def export_onnx(model_dir: Path, work_dir: Path) -> Path:
    """Optimum export of the encoder alone; the graph's output is last_hidden_state."""
    from optimum.exporters.onnx import main_export

    out = work_dir / "exported"
    main_export(str(model_dir), out, task=TASK, library_name="transformers", do_validation=False, device="cpu")
    return out / "model.onnx"


def optimize_fp32(exported: Path, work_dir: Path) -> Graph:
    from optimum.onnxruntime.configuration import OptimizationConfig

    config = OptimizationConfig(optimization_level=CPU_OPTIMIZATION_LEVEL,
                                enable_transformers_specific_optimizations=True, optimize_for_gpu=False)
    try:
        path = _optimize(exported, work_dir / "fp32", config)
    except NotImplementedError:  # model types the ORT transformer optimizer does not know
        return Graph(exported, "fp32, not graph-optimised (ONNX Runtime has no fusions for this model type)")
    return Graph(path, "fp32, ONNX Runtime O2 graph optimisation for CPU")


def convert_fp16(exported: Path, work_dir: Path) -> Graph:
    from optimum.onnxruntime.configuration import OptimizationConfig

    config = OptimizationConfig(optimization_level=CPU_OPTIMIZATION_LEVEL,
                                enable_transformers_specific_optimizations=True, optimize_for_gpu=True, fp16=True)
    try:
        path = _optimize(exported, work_dir / "fp16", config)
    except NotImplementedError:
        return Graph(_plain_fp16(exported, work_dir / "fp16"), "fp16 weights and compute for GPU, fp32 inputs/outputs")
    return Graph(path, "fp16 weights and compute for GPU, fp32 inputs/outputs, transformer fusions (O4-style "
                       "without GELU approximation)")


@dataclass(frozen=True)
class Int8Recipe:
    """Dynamic int8 of every MatMul except the kinds kept in fp32 (see INT8_RECIPES)."""

    name: str
    keep_fp32: tuple[str, ...] = ()  # keys of MATMUL_KINDS


# MatMul kinds by their node names in Optimum's export of BERT-style encoders (BERT, XLM-R, ...).
MATMUL_KINDS = {
    # The feed-forward output projection reads the GELU output, whose rare large values leave
    # per-tensor u8 activations few levels for the rest: the most sensitive MatMul of each layer.
    "ffn-output": re.compile(r"/layer\.\d+/output/dense/MatMul$"),
    "attention-value": re.compile(r"/layer\.\d+/attention/self/value/MatMul$"),
}
# Tried in order until the int8 graph passes the parity gate (export.parity.INT8_MIN_MEAN_COSINE).
# Fine-tuned models need the later ones: contrastive training spreads the embeddings (mean pairwise
# cosine on the parity sample 0.76 for the default model, 0.34 after 150 hybrid steps), so the same
# quantisation noise costs more cosine (docs/benchmarks/int8-parity).
INT8_RECIPES = (
    Int8Recipe("all-matmuls"),
    Int8Recipe("ffn-output-fp32", ("ffn-output",)),
    Int8Recipe("ffn-output-and-value-fp32", ("ffn-output", "attention-value")),
)


def matmuls_kept_fp32(exported: Path, recipe: Int8Recipe) -> list[str]:
    """The names of the exported graph's MatMul nodes that `recipe` leaves in fp32."""
    import onnx

    names = [node.name for node in onnx.load(exported, load_external_data=False).graph.node if node.op_type == "MatMul"]
    return [name for name in names if any(MATMUL_KINDS[kind].search(name) for kind in recipe.keep_fp32)]


def quantize_int8(exported: Path, work_dir: Path, recipe: Int8Recipe, kept: list[str]) -> Graph:
    """Dynamic int8 of the unoptimised export (ORT's quantizer cannot type the fused contrib ops),
    leaving the `kept` MatMuls (matmuls_kept_fp32 of `recipe`) in fp32."""
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    # One int8 format on every CPU, so a bundle made on one machine computes the same on another:
    # u8 activations, s8 weights in 7 bits (optimum's avx512 preset with reduce_range). Without
    # AVX-512 VNNI, ORT's u8 x s8 kernels saturate on full 8-bit weights (min cosine 0.987 on the
    # default model's parity sample), and u8 weights (optimum's avx2 preset) take the slower u8 x u8
    # kernels: 7-bit s8 encodes 1.16x faster than those on AVX2 at the same parity
    # (docs/benchmarks/encoders.md).
    config = AutoQuantizationConfig.avx512(is_static=False, reduce_range=True, per_channel=INT8_PER_CHANNEL,
                                           nodes_to_exclude=kept)
    out = work_dir / f"int8-{recipe.name}"
    ORTQuantizer.from_pretrained(exported.parent, file_name=exported.name).quantize(config, out, file_suffix=None)
    fp32_part = f"; {len(kept)} MatMuls kept fp32 ({', '.join(recipe.keep_fp32)})" if kept else ""
    return Graph(out / exported.name, f"{INT8_FORMAT}, recipe {recipe.name}{fp32_part}")


def _optimize(exported: Path, out: Path, config) -> Path:
    from optimum.onnxruntime import ORTOptimizer

    ORTOptimizer.from_pretrained(exported.parent, file_names=[exported.name]).optimize(config, out, file_suffix=None)
    return out / exported.name


def _plain_fp16(exported: Path, out: Path) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out.mkdir(parents=True, exist_ok=True)
    onnx.save(convert_float_to_float16(onnx.load(exported), keep_io_types=True), out / exported.name)
    return out / exported.name
