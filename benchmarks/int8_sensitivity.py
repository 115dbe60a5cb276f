"""Which MatMuls make dynamic int8 lose parity? Per kind and per layer, on one HF model dir.

  python -m benchmarks.int8_sensitivity MODEL_DIR --out DIR

Exports MODEL_DIR to ONNX once, then quantises it (dynamic int8, per-channel, s8 weights in 7 bits,
as export/ does) with all MatMuls, and with each MatMul kind or each layer left in fp32, and
compares every graph's mean-pooled embeddings of the parity sample (export/parity_texts.py) with
the fp32 graph's: mean and min cosine. Also reports how spread the fp32 embeddings are (mean
pairwise cosine), since the same quantisation noise costs more cosine when the embeddings have
less in common.
Writes DIR/int8-sensitivity.json and prints a table; about 5 minutes on 2 cores for a 12-layer model.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from export.onnx_export import MATMUL_KINDS

# Every projection of a BERT-style layer; the two the export's recipes keep in fp32 are its own patterns.
KINDS = {"query": r"/attention/self/query/", "key": r"/attention/self/key/",
         "value": MATMUL_KINDS["attention-value"].pattern, "attention output": r"/attention/output/dense/",
         "ffn input": r"/intermediate/dense/", "ffn output": MATMUL_KINDS["ffn-output"].pattern}


def embed(graph: Path, encodings) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    inputs = {node.name for node in session.get_inputs()}
    rows = []
    for encoding in encodings:
        ids = np.array([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        pooled = session.run(None, feed)[0][0].mean(axis=0)
        rows.append(pooled / np.linalg.norm(pooled))
    return np.array(rows)


def main(argv: list[str] | None = None) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    from export.model_settings import read_settings
    from export.onnx_export import export_onnx
    from export.parity_texts import PASSAGES, QUERIES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = read_settings(args.model_dir)
    tokenizer = Tokenizer.from_file(str(args.model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(settings.max_length)
    encodings = tokenizer.encode_batch([settings.query_prefix + text for text in QUERIES] +
                                       [settings.passage_prefix + text for text in PASSAGES])
    exported = export_onnx(args.model_dir, args.out / "work")
    reference = embed(exported, encodings)
    import onnx

    matmuls = [node.name for node in onnx.load(exported, load_external_data=False).graph.node if node.op_type == "MatMul"]
    layers = sorted({int(match[1]) for name in matmuls if (match := re.search(r"layer\.(\d+)/", name))})
    variants = {"all int8": []}
    variants.update({f"{kind} in fp32": [name for name in matmuls if re.search(pattern, name)]
                     for kind, pattern in KINDS.items()})
    variants.update({f"layer {layer} in fp32": [name for name in matmuls if f"layer.{layer}/" in name] for layer in layers})
    results = {"mean_pairwise_cosine": float((reference @ reference.T).mean()), "variants": {}}
    print(f"mean pairwise cosine of the fp32 embeddings: {results['mean_pairwise_cosine']:.4f}")
    for number, (label, kept) in enumerate(variants.items()):
        graph = args.out / "work" / f"int8-{number}.onnx"
        quantize_dynamic(exported, graph, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         nodes_to_exclude=kept, op_types_to_quantize=["MatMul"])
        cosines = np.sum(embed(graph, encodings) * reference, axis=1)
        results["variants"][label] = {"kept_fp32": len(kept), "mean_cosine": float(cosines.mean()),
                                      "min_cosine": float(cosines.min())}
        print(f"{label:<24} {len(kept):>3} MatMuls fp32  mean cos {cosines.mean():.4f}  min {cosines.min():.4f}",
              flush=True)
        graph.unlink()
    (args.out / "int8-sensitivity.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
