"""`engine experiment --requantize`: export and evaluate again each requested model whose int8
bundle, or whose report of a requested benchmark, is in another format than the one `engine export`
writes now (export.onnx_export.INT8_FORMAT), so that one table never compares models quantised in
different ways. Reports of other benchmarks are kept (each names its format, and results.md says when
a table mixes them). The weights must still be on the machine; the training is never repeated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.bundle import MANIFEST_NAME
from engine.errors import EngineError
from engine.paths import default_bundle_dir
from export.onnx_export import INT8_FORMAT, int8_format_of
from train.experiment_results import read_result


def drop_stale_quantisation(out_dir: Path, model_dirs: dict[Path, Path], benchmarks: list[str],
                            default_base: bool, results_dir: Path | None, log) -> None:
    """model_dirs: each requested run or merge dir under out_dir -> the HF model dir its bundle is
    exported from; benchmarks: the requested evaluations' report names. Removes each stale bundle and
    the stale reports of those benchmarks (the base model's too), in out_dir and in results_dir; the
    experiment then makes them again."""
    base_dir = out_dir / "base"
    if default_base and _stale_reports(base_dir, benchmarks):
        bundle_format = _bundle_format(default_bundle_dir())
        if bundle_format not in (None, INT8_FORMAT):
            raise EngineError(f"the default bundle {default_bundle_dir()} holds int8 as {bundle_format!r}, not "
                              f"{INT8_FORMAT!r}: delete it, run `engine export default` once, then run again")
    stale = [base_dir] if _stale_reports(base_dir, benchmarks) or _stale_bundle(base_dir) else []
    for run_dir, model_dir in model_dirs.items():
        if not (_stale_bundle(run_dir) or _stale_reports(run_dir, benchmarks)):
            continue
        if not (model_dir / "config.json").is_file():
            raise EngineError(f"{run_dir.name} was quantised in an older int8 format and its weights ({model_dir}) "
                              "are not on this machine: it cannot be exported again here")
        stale.append(run_dir)
    for run_dir in stale:
        log(f"{run_dir.name}: quantised in an older int8 format; exporting and evaluating it again")
        for where in (run_dir, *([Path(results_dir) / run_dir.relative_to(out_dir)] if results_dir else [])):
            if _stale_bundle(where):
                shutil.rmtree(where / "bundle")
            for report in _stale_reports(where, benchmarks):
                report.unlink()


def _bundle_format(bundle_dir: Path) -> str | None:
    manifest = bundle_dir / MANIFEST_NAME
    if not manifest.is_file():
        return None
    int8 = read_result(manifest).get("variants", {}).get("int8")
    return int8_format_of(int8["quantization"]) if int8 else None


def _stale_bundle(run_dir: Path) -> bool:
    return _bundle_format(run_dir / "bundle") not in (None, INT8_FORMAT)


def _stale_reports(run_dir: Path, benchmarks: list[str]) -> list[Path]:
    """The int8 reports of those benchmarks under run_dir/eval made in an older format."""
    stale = []
    for path in (run_dir / "eval" / f"{name}.json" for name in benchmarks):
        model = read_result(path).get("model", {}) if path.is_file() else {}
        if model.get("variant") == "int8" and int8_format_of(model.get("quantization", "")) != INT8_FORMAT:
            stale.append(path)
    return stale
