"""What a training run leaves for people: a JSON log and a PNG curve of training and validation loss."""

from __future__ import annotations

import json
from pathlib import Path


def write_training_log(path: Path, log: dict) -> None:
    Path(path).write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot_training_curve(path: Path, train_losses: list[dict], validation_losses: list[dict]) -> None:
    """Training loss per step (and its running mean over 10 steps) with the validation loss points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    steps = [entry["step"] for entry in train_losses]
    losses = [entry["loss"] for entry in train_losses]
    axes.plot(steps, losses, color="tab:blue", alpha=0.3, label="training loss")
    window = 10
    running = [sum(losses[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(losses))]
    axes.plot(steps, running, color="tab:blue", label=f"training loss, mean of {window} steps")
    if validation_losses:
        axes.plot([entry["step"] for entry in validation_losses], [entry["loss"] for entry in validation_losses],
                  "o-", color="tab:orange", label="validation loss")
    axes.set_xlabel("step")
    axes.set_ylabel("InfoNCE loss")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
