"""PNG heat map of mAP by query language x candidate language (monolingual on the diagonal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import EngineError
from engine.evaluation.figures import language_matrix


def write_heatmap(report: dict, path: Path, metric: str = "map") -> bool:
    """Draw the matrix into `path`; False (nothing written) when the report has no cross-lingual pools."""
    matrix = language_matrix(report, metric)
    if matrix is None:
        return False
    pyplot = load_pyplot()
    languages = report["languages"]
    size = max(4.0, 1.0 + 0.55 * len(languages))
    figure, axes = pyplot.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(matrix, cmap="viridis", vmin=np.nanmin(matrix), vmax=np.nanmax(matrix))
    axes.set_xticks(range(len(languages)), languages)
    axes.set_yticks(range(len(languages)), languages)
    axes.set_xlabel("candidate language")
    axes.set_ylabel("query language")
    middle = (np.nanmin(matrix) + np.nanmax(matrix)) / 2
    for (row, column), value in np.ndenumerate(matrix):
        if not np.isnan(value):
            axes.text(column, row, f"{value:.2f}".lstrip("0"), ha="center", va="center", fontsize=7,
                      color="black" if value > middle else "white")
    model = report["model"]
    label = "mAP" if metric == "map" else metric
    axes.set_title(f"{report['title']} {label} by query x candidate language\n{model['variant']} "
                   f"{model['fingerprint'][:12]}, candidates: {report['candidate_text']}", fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=120, format="png")
    pyplot.close(figure)
    return True


def load_pyplot():
    """matplotlib.pyplot on the non-interactive backend (an error naming the package when it is missing)."""
    try:
        import matplotlib
    except ImportError:
        raise EngineError("the heat map needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot
