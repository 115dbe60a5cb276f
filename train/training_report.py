"""What a training run leaves for people: a JSON log and a PNG curve of training and validation loss."""

from __future__ import annotations

import json
from pathlib import Path

LOG_FILE = "training_log.json"
CURVE_FILE = "training_curve.png"


def write_training_log(path: Path, log: dict) -> None:
    Path(path).write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot_training_curve(path: Path, train_losses: list[dict], validation_losses: list[dict]) -> None:
    """The training loss per step (faint) and its running mean over 10 steps, with the validation loss
    points; an anchored run also draws each term of its loss (train.anchoring.TERMS) apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from train.anchoring import TERMS

    figure, axes = plt.subplots(figsize=(7, 4))
    steps = [entry["step"] for entry in train_losses]
    losses = [entry["loss"] for entry in train_losses]
    axes.plot(steps, losses, color="tab:blue", alpha=0.3, label="training loss")
    axes.plot(steps, _running_mean(losses), color="tab:blue", label=f"training loss, mean of {_WINDOW} steps")
    anchored = any("keep" in entry for entry in train_losses)
    colours = {"contrastive": "tab:green", "keep": "tab:purple", "align": "tab:red"}
    for term in TERMS if anchored else ():
        points = [(entry["step"], entry[term]) for entry in train_losses if term in entry]
        if points:
            axes.plot([step for step, _ in points], _running_mean([value for _, value in points]), "--",
                      color=colours[term], label=f"{term} term, mean of {_WINDOW} steps")
    if validation_losses:
        axes.plot([entry["step"] for entry in validation_losses], [entry["loss"] for entry in validation_losses],
                  "o-", color="tab:orange", label="validation loss")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (InfoNCE + distill weight x anchoring terms)" if anchored else "InfoNCE loss")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


_WINDOW = 10


def _running_mean(values: list[float]) -> list[float]:
    return [sum(values[max(0, i - _WINDOW + 1):i + 1]) / (i + 1 - max(0, i - _WINDOW + 1)) for i in range(len(values))]
