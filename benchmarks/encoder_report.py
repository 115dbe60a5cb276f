"""Markdown tables for docs/benchmarks/encoders.md from test_encoders.py's --benchmark-json files.

  python -m benchmarks.encoder_report RESULTS.json [MORE.json ...]

One table per benchmark group: median, IQR, the speed-up against each baseline in the group
(median of the baseline / median of the row), throughput and the mean cosine to torch fp32; then
the issue's targets, met or not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BASELINES = ("torch-fp32", "st-onnx-int8", "numba-kernel")
# (system, baseline, words in the group name, least speed-up): issue 3, item 6.
TARGETS = (
    ("onnx-int8", "torch-fp32", "passages", 1.5),
    ("onnx-int8", "torch-fp32", "single query", 2.0),
    ("onnx-int8", "st-onnx-int8", "passages", 1.0),
    ("onnx-int8", "st-onnx-int8", "single query", 1.0),
)


def load_groups(paths: list[Path]) -> dict[str, dict[str, dict]]:
    """group -> system (the test's parameter) -> benchmark record."""
    groups: dict[str, dict[str, dict]] = {}
    for path in paths:
        for record in json.loads(path.read_text(encoding="utf-8"))["benchmarks"]:
            groups.setdefault(record["group"], {})[record["param"]] = record
    return groups


def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def throughput(extra: dict) -> str:
    for key, unit in (("passages_per_s", "passages/s"), ("queries_per_s", "queries/s")):
        if key in extra:
            return f"{extra[key]:.1f} {unit}"
    return ""


def cosine(extra: dict) -> str:
    if "mean_cosine_vs_torch_fp32" not in extra:
        return ""
    return f"{extra['mean_cosine_vs_torch_fp32']:.4f} (min {extra['min_cosine_vs_torch_fp32']:.4f})"


def speed_up(records: dict[str, dict], system: str, baseline: str) -> float:
    return records[baseline]["stats"]["median"] / records[system]["stats"]["median"]


def group_table(group: str, records: dict[str, dict]) -> str:
    """Rows fastest first; the throughput and cosine columns only where the group records them."""
    baselines = [name for name in BASELINES if name in records]
    optional = [(title, cell) for title, cell in (("throughput", throughput), ("cosine vs torch fp32", cosine))
                if any(cell(record["extra_info"]) for record in records.values())]
    header = ["system", "median", "IQR", *[f"× vs {name}" for name in baselines], *[title for title, _ in optional]]
    lines = [f"### {group}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, record in sorted(records.items(), key=lambda item: item[1]["stats"]["median"]):
        stats, extra = record["stats"], record["extra_info"]
        cells = [system, format_time(stats["median"]), format_time(stats["iqr"]),
                 *[f"{speed_up(records, system, name):.2f}" for name in baselines],
                 *[cell(extra) for _, cell in optional]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_lines(groups: dict[str, dict[str, dict]]) -> list[str]:
    lines = []
    for group, records in groups.items():
        for system, baseline, words, least in TARGETS:
            if group.startswith("encoders:") and words in group and {system, baseline} <= set(records):
                ratio = speed_up(records, system, baseline)
                verdict = "met" if ratio >= least else "NOT met"
                lines.append(f"- {group}: {system} vs {baseline} {ratio:.2f}× (target ≥ {least}×): {verdict}")
    return lines


def report(paths: list[Path]) -> str:
    groups = load_groups(paths)
    tables = [group_table(group, records) for group, records in groups.items()]
    return "\n\n".join(tables + ["### Targets\n\n" + "\n".join(target_lines(groups))]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(report([Path(arg) for arg in sys.argv[1:]]))
