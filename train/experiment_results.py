"""The small files of an experiment dir, kept apart from it: figures, logs and stage times, no weights.

An experiment outlives one machine: `engine experiment --results DIR` copies these files into DIR
(a dir that can be committed) after the run, and before it starts copies DIR's files into an
experiment dir that lacks them, so a fresh machine continues where the last one stopped instead of
training and evaluating again what DIR already holds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.bundle import MANIFEST_NAME
from engine.errors import EngineError
from train.training_report import CURVE_FILE, LOG_FILE

RESULT_FILES = (
    "experiment.json", "results.json", "results.md", "*.png",
    "base/eval/*.json", "base/stages.json",
    "runs/*/eval/*.json", "runs/*/stages.json", f"runs/*/bundle/{MANIFEST_NAME}",
    f"runs/*/train/{LOG_FILE}", f"runs/*/train/{CURVE_FILE}",
)


def read_result(path: Path, keys: tuple[str, ...] = ()) -> dict:
    """One JSON result file, an object holding `keys`; a damaged one (a bad copy, a hand edit) is an
    error naming it."""
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise EngineError(damaged_result(path, str(err))) from None
    if not isinstance(result, dict):
        raise EngineError(damaged_result(path, f"a JSON {type(result).__name__}, not an object"))
    missing = [key for key in keys if key not in result]
    if missing:
        raise EngineError(damaged_result(path, f"it has no {missing[0]!r}"))
    return result


def damaged_result(path: Path, problem: str) -> str:
    return f"{path} is not a readable result file ({problem}); delete it, and the experiment makes it again"


def check_writable(directory: Path, what: str = "results dir") -> None:
    """Before a long run: the dir must take files, or the first save would stop the run."""
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        probe = Path(directory) / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise EngineError(f"cannot write the {what} {directory} ({err.strerror})") from None


def result_files(experiment_dir: Path) -> list[Path]:
    """The result files under an experiment dir, relative to it."""
    return sorted({path.relative_to(experiment_dir) for pattern in RESULT_FILES
                   for path in Path(experiment_dir).glob(pattern) if path.is_file()})


def save_results(experiment_dir: Path, results_dir: Path) -> int:
    """Copy every result file to results_dir, replacing older copies there; returns how many."""
    return _copy(experiment_dir, results_dir, result_files(experiment_dir), replace=True)


def restore_results(results_dir: Path, experiment_dir: Path) -> int:
    """Copy results_dir's files into experiment_dir where it lacks them; it never replaces one it has."""
    if not Path(results_dir).is_dir():
        return 0
    return _copy(results_dir, experiment_dir, result_files(results_dir), replace=False)


def _copy(source: Path, target: Path, files: list[Path], replace: bool) -> int:
    copied = 0
    for relative in files:
        destination = Path(target) / relative
        if destination.exists() and not replace:
            continue
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(source) / relative, destination)
        except OSError as err:
            raise EngineError(f"cannot copy {Path(source) / relative} to {destination} ({err.strerror})") from None
        copied += 1
    return copied
