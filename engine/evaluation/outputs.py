"""Files an evaluation writes into --out: <stem>.json, <stem>.trec, <stem>.qrels and <stem>.png.

All are written under temporary names first and renamed at the end, so a failure leaves no
half-written output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.benchmarks import get_benchmark
from engine.evaluation.evaluate import EvalResult
from engine.evaluation.heatmap import write_heatmap
from engine.evaluation.run_files import write_qrels, write_run


def output_stem(report: dict) -> str:
    """`<benchmark>-<variant>`, plus the candidate text when it is not the benchmark's default,
    plus `-hnsw` when the report compares HNSW with exact search."""
    stem = f"{report['benchmark']}-{report['model']['variant']}"
    if report["candidate_text"] != get_benchmark(report["benchmark"]).default_text:
        stem += f"-{report['candidate_text']}"
    return stem + ("-hnsw" if "hnsw" in report else "")


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise EngineError(f"--out {out_dir} exists and is not a directory")


def write_outputs(result: EvalResult, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = output_stem(result.report)
    staged: dict[Path, Path] = {}
    try:
        for suffix, write in ((".json", lambda handle: handle.write(report_json(result.report))),
                              (".trec", lambda handle: write_run(handle, result, f"engine-{stem}")),
                              (".qrels", lambda handle: write_qrels(handle, result))):
            temp = out_dir / f".{stem}{suffix}.tmp"
            staged[temp] = out_dir / f"{stem}{suffix}"
            with open(temp, "w", encoding="utf-8") as handle:
                write(handle)
        temp = out_dir / f".{stem}.png.tmp"
        staged[temp] = out_dir / f"{stem}.png"
        if not write_heatmap(result.report, temp):
            del staged[temp]
        for temp, final in staged.items():
            os.replace(temp, final)
    finally:
        for temp in staged:
            temp.unlink(missing_ok=True)
    return list(staged.values())
