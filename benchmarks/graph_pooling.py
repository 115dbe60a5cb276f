"""Mean pooling + L2 normalisation as ONNX nodes, to measure it against the engine's Numba kernel.

A measurement, not product code: the bundle format keeps pooling outside the graph
(export/onnx_export.py). `in_graph_pooling_bundle` writes a copy of a bundle whose graphs end in
`sentence_embedding` of shape (batch, 1, dim), already pooled and normalised. Its manifest says
CLS pooling without normalisation, so the unchanged engine Encoder takes that single "token" as
it is: both paths then share tokenisation, batching and feeding, and differ only in the pooling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.bundle import ModelBundle, write_manifest
from engine.hashing import sha256_file

OUTPUT = "sentence_embedding"
MASK = "attention_mask"
# ReduceSum and Unsqueeze take their axes as an input from opset 13 on.
MIN_OPSET = 13
POOLING_OPSET = 18


def pooling_nodes(hidden: str, mask: str, output: str, token_sum: str = "matmul") -> tuple[list, list]:
    """Nodes and initialisers: masked mean of `hidden` over tokens, L2-normalised, shape (batch, 1, dim).

    token_sum "matmul" sums the masked token states as mask (batch, 1, tokens) @ hidden; "mul-reducesum"
    multiplies by the mask then reduces, which materialises a (batch, tokens, dim) temporary.
    """
    def name(part: str) -> str:
        return "bench_pool_" + part

    initializers = [
        numpy_helper.from_array(np.array([axis], dtype=np.int64), name(f"axis{axis}")) for axis in (-1, 1)
    ] + [numpy_helper.from_array(np.array(1.0, dtype=np.float32), name("one"))]
    nodes = [helper.make_node("Cast", [mask], [name("mask_f")], to=TensorProto.FLOAT)]
    if token_sum == "matmul":
        nodes += [
            helper.make_node("Unsqueeze", [name("mask_f"), name("axis1")], [name("mask_row")]),
            helper.make_node("MatMul", [name("mask_row"), hidden], [name("summed")]),
            helper.make_node("ReduceSum", [name("mask_row"), name("axis-1")], [name("count")], keepdims=1),
        ]
    elif token_sum == "mul-reducesum":
        nodes += [
            helper.make_node("Unsqueeze", [name("mask_f"), name("axis-1")], [name("mask_col")]),
            helper.make_node("Mul", [hidden, name("mask_col")], [name("masked")]),
            helper.make_node("ReduceSum", [name("masked"), name("axis1")], [name("summed")], keepdims=1),
            helper.make_node("ReduceSum", [name("mask_col"), name("axis1")], [name("count")], keepdims=1),
        ]
    else:
        raise ValueError(f"unknown token_sum {token_sum!r}")
    nodes += [
        helper.make_node("Max", [name("count"), name("one")], [name("safe_count")]),
        helper.make_node("Div", [name("summed"), name("safe_count")], [name("mean")]),
        helper.make_node("LpNormalization", [name("mean")], [output], axis=-1, p=2),
    ]
    return nodes, initializers


def with_pooling(model: onnx.ModelProto, dimension: int) -> onnx.ModelProto:
    """`model` (output: token states) with pooling nodes appended; its only output becomes OUTPUT."""
    opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    if opset < MIN_OPSET:
        raise ValueError(f"graph opset {opset} is older than {MIN_OPSET}")
    nodes, initializers = pooling_nodes(model.graph.output[0].name, MASK, OUTPUT)
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(initializers)
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", 1, dimension]))
    return model


def pooling_graph(dimension: int, token_sum: str) -> onnx.ModelProto:
    """The pooling nodes alone: token states (batch, tokens, dim) + mask -> OUTPUT."""
    nodes, initializers = pooling_nodes("hidden", MASK, OUTPUT, token_sum)
    graph = helper.make_graph(
        nodes, "pooling",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", dimension]),
         helper.make_tensor_value_info(MASK, TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", 1, dimension])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", POOLING_OPSET)])


def in_graph_pooling_bundle(bundle: ModelBundle, out_dir: Path) -> ModelBundle:
    """A copy of a mean-pooling, normalising `bundle` with pooling inside every graph (see module doc)."""
    if bundle.pooling != "mean" or not bundle.normalize:
        raise ValueError(f"{bundle.path}: in-graph pooling is built for mean pooling + L2 normalisation only")
    out_dir.mkdir(parents=True)
    variants = {}
    for variant, entry in bundle.variants.items():
        path = out_dir / entry["file"]
        onnx.save(with_pooling(onnx.load(bundle.variant_file(variant)), bundle.dimension), path)
        variants[variant] = {**entry, "sha256": sha256_file(path),
                             "quantization": entry["quantization"] + ", mean pooling + L2 in the graph"}
    (out_dir / bundle.manifest["tokenizer"]["file"]).symlink_to(bundle.tokenizer_file().resolve())
    manifest = {**bundle.manifest, "pooling": "cls", "normalize": False, "variants": variants}
    write_manifest(out_dir, manifest)
    return ModelBundle(out_dir, manifest)
