"""Do two or more training runs follow the same loss curve? (e.g. `--precision bf16` against fp32)

  python -m benchmarks.training_curves RUN_A/training_log.json RUN_B/training_log.json --out DIR

Writes DIR/training-curves.png (each run's training loss, mean of 10 steps, and its validation
points) and DIR/training-curves.md: every validation loss side by side, and how far each run's
smoothed training loss is from the first run's (mean and largest absolute gap over the steps).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

WINDOW = 10


def smoothed(values: list[float]) -> np.ndarray:
    """Mean of the last WINDOW values at each step (fewer at the start)."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - WINDOW)
    return (sums[ends] - sums[starts]) / (ends - starts)


def compare(logs: dict[str, dict]) -> str:
    names = list(logs)
    first = logs[names[0]]
    lines = ["| run | precision | steps | training wall time (s) | final smoothed training loss |"
             " mean / max gap to " + names[0] + " |", "|---|---|---|---|---|---|"]
    reference = smoothed([entry["loss"] for entry in first["train"]])
    for name in names:
        curve = smoothed([entry["loss"] for entry in logs[name]["train"]])
        steps = min(len(curve), len(reference))
        gaps = np.abs(curve[:steps] - reference[:steps])
        lines.append(f"| {name} | {logs[name].get('precision', 'fp32')} | {len(curve)} | "
                     f"{logs[name].get('wall_s', float('nan')):.0f} | {curve[-1]:.4f} | "
                     f"{gaps.mean():.4f} / {gaps.max():.4f} |")
    lines += ["", "| validation step | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    by_step = {name: {entry["step"]: entry["loss"] for entry in logs[name]["validation"]} for name in names}
    for step in sorted(set().union(*[set(values) for values in by_step.values()])):
        cells = [f"{by_step[name][step]:.4f}" if step in by_step[name] else "" for name in names]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(logs: dict[str, dict], path: Path) -> None:
    from engine.evaluation.heatmap import load_pyplot

    pyplot = load_pyplot()
    figure, axis = pyplot.subplots(figsize=(7, 4))
    for name, log in logs.items():
        steps = [entry["step"] for entry in log["train"]]
        line, = axis.plot(steps, smoothed([entry["loss"] for entry in log["train"]]),
                          label=f"{name}: training loss, mean of {WINDOW} steps")
        axis.plot([entry["step"] for entry in log["validation"]], [entry["loss"] for entry in log["validation"]],
                  "o--", color=line.get_color(), label=f"{name}: validation loss")
    axis.set(xlabel="step", ylabel="loss")
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="training_log.json files; the first is the reference")
    parser.add_argument("--labels", help="comma-separated names for the runs (default: each log's parent dir)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [path.parent.name for path in args.logs]
    if len(labels) != len(args.logs):
        parser.error(f"{len(labels)} labels for {len(args.logs)} logs")
    logs = {label: json.loads(path.read_text(encoding="utf-8")) for label, path in zip(labels, args.logs)}
    args.out.mkdir(parents=True, exist_ok=True)
    plot(logs, args.out / "training-curves.png")
    table = compare(logs)
    (args.out / "training-curves.md").write_text(table, encoding="utf-8")
    print(table, end="")


if __name__ == "__main__":
    main()
