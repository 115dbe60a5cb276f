"""GPU check: export the default model with an fp16 variant on a CUDA machine, then measure the
engine's encoder there (ONNX Runtime CUDA provider) against torch on the same GPU.

    python -m benchmarks.gpu_encoder_check --work /tmp/gpu --out gpu.json

Needs onnxruntime-gpu, the train and export extras, and a GPU. Prints and writes JSON: the card,
export time, the fp16 parity report, passage throughput (batch 32 and 128, the demo corpus x10)
and single-query latency (p50, p99) for fp16 and fp32 graphs and for torch fp32 / fp16.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from engine.corpus import passage_text, read_corpus
from engine.demo_data import demo_file, read_demo_queries
from engine.encoder import Encoder, cuda_available

REPEAT_CORPUS = 10
LATENCY_QUERIES = 200


def texts() -> tuple[list[str], list[str]]:
    passages = [passage_text(p) for p in read_corpus(demo_file("corpus.jsonl"))] * REPEAT_CORPUS
    questions = [question for _, _, question in read_demo_queries()]
    return passages, (questions * (LATENCY_QUERIES // len(questions) + 1))[:LATENCY_QUERIES]


def timed_throughput(encode, passages: list[str]) -> float:
    encode(passages[:64])  # warm-up: CUDA graphs, allocator, kernels for each shape
    started = time.perf_counter()
    encode(passages)
    return len(passages) / (time.perf_counter() - started)


def timed_latency(encode_one, questions: list[str]) -> dict:
    encode_one(questions[0])
    seconds = []
    for question in questions:
        started = time.perf_counter()
        encode_one(question)
        seconds.append(time.perf_counter() - started)
    return {"p50_ms": round(float(np.percentile(seconds, 50)) * 1000, 3),
            "p99_ms": round(float(np.percentile(seconds, 99)) * 1000, 3)}


def engine_figures(bundle: Path, variant: str, passages, questions) -> dict:
    figures = {}
    for batch in (32, 128):
        encoder = Encoder(bundle, variant=variant, device="cuda", batch_size=batch)
        figures[f"passages_per_s_batch{batch}"] = round(timed_throughput(encoder.encode_passages, passages), 1)
    figures["providers"] = encoder.providers
    figures["single_query"] = timed_latency(lambda q: encoder.encode_queries([q]), questions)
    return figures


def torch_figures(model_dir: Path, dtype_name: str, passages, questions) -> dict:
    import torch
    from transformers import AutoModel, AutoTokenizer

    dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, torch_dtype=dtype).cuda().eval()

    @torch.inference_mode()
    def encode(batch_texts, prefix):
        inputs = tokenizer([prefix + t for t in batch_texts], padding=True, truncation=True, max_length=512,
                           return_tensors="pt").to("cuda")
        hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        vectors = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
        return vectors

    def encode_all(batch_texts, batch=128):
        return np.concatenate([encode(batch_texts[i:i + batch], "passage: ")
                               for i in range(0, len(batch_texts), batch)])

    return {"passages_per_s_batch128": round(timed_throughput(encode_all, passages), 1),
            "single_query": timed_latency(lambda q: encode([q], "query: "), questions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not cuda_available():
        raise SystemExit("onnxruntime has no CUDA provider here: install onnxruntime-gpu")
    import onnxruntime
    import torch  # loads the CUDA 13 libraries that onnxruntime-gpu links against

    onnxruntime.preload_dlls()

    from export.bundle_writer import export_bundle
    from export.default_bundle import SOURCE_MODEL
    from export.default_model import build_default_model

    report = {"card": torch.cuda.get_device_name(0), "cpu": platform.processor() or platform.machine(),
              "onnxruntime": onnxruntime.__version__, "torch": torch.__version__}
    model_dir, bundle_dir = args.work / "model", args.work / "bundle"
    model_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    build_default_model(model_dir)
    report["model_build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    export_bundle(model_dir, bundle_dir, quantize=("fp16",), source_model=SOURCE_MODEL)
    report["export_s"] = round(time.perf_counter() - started, 1)
    report["parity"] = json.loads((bundle_dir / "bundle.json").read_text())["parity"]
    passages, questions = texts()
    report["passages"] = len(passages)
    for variant in ("fp16", "fp32"):
        report[f"engine_onnx_{variant}_cuda"] = engine_figures(bundle_dir, variant, passages, questions)
        print(json.dumps({variant: report[f"engine_onnx_{variant}_cuda"]}), flush=True)
    for dtype_name in ("fp32", "fp16"):
        report[f"torch_{dtype_name}_cuda"] = torch_figures(model_dir, dtype_name, passages, questions)
    fp16 = Encoder(bundle_dir, variant="fp16", device="cuda").encode_passages(passages[:456])
    fp32 = Encoder(bundle_dir, variant="fp32", device="cuda").encode_passages(passages[:456])
    cosines = np.sum(fp16 * fp32, axis=1)
    report["fp16_vs_fp32_cuda_cosine"] = {"mean": round(float(cosines.mean()), 6), "min": round(float(cosines.min()), 6)}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
