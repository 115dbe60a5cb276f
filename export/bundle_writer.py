"""HF model dir → model bundle (see engine/bundle.py for the format).

The bundle is assembled in a temp dir beside `out_dir` and swapped into place only once every
graph, the tokenizer, the parity report and the manifest are written, so an existing bundle at
`out_dir` survives any failure.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from engine.atomic_dir import replace_dir
from engine.bundle import FORMAT_NAME, FORMAT_VERSION, ModelBundle, write_manifest
from engine.errors import EngineError
from engine.hashing import sha256_file
from export.base_models import check_model_dir
from export.fingerprint import weights_fingerprint
from export.model_settings import read_settings
from export.onnx_export import (
    INT8_RECIPES,
    Graph,
    check_exportable,
    convert_fp16,
    export_onnx,
    matmuls_kept_fp32,
    optimize_fp32,
    quantize_int8,
)
from export.parity import check_int8_parity, format_parity_report, int8_passes, parity_report

VARIANT_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}
QUANTIZATIONS = ("int8", "fp16")
TOKENIZER_FILE = "tokenizer.json"
_RECORDED_PACKAGES = ("torch", "transformers", "tokenizers", "optimum", "optimum-onnx", "onnx", "onnxruntime")
_CHATTY_LOGGERS = ("transformers", "optimum", "onnxruntime")


def export_bundle(model_dir: str | Path, out_dir: str | Path, quantize: tuple[str, ...] = ("int8",),
                  force: bool = False, quiet: bool = False, source_model: str | None = None,
                  int8_recipes=INT8_RECIPES) -> Path:
    """Write a bundle of `model_dir` to `out_dir`: fp32 always, plus the `quantize` variants; the int8
    variant takes the first of `int8_recipes` that passes the parity gate (one recipe: that one).

    Raises EngineError for a dir that is not an exportable model, and when the int8 variant's
    parity falls below export.parity.INT8_MIN_MEAN_COSINE (unless `force`).
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    unknown = set(quantize) - set(QUANTIZATIONS)
    if unknown:
        raise EngineError(f"unknown quantization {', '.join(sorted(unknown))} (choose from {', '.join(QUANTIZATIONS)})")
    check_model_dir(model_dir)
    config = _model_config(model_dir)
    check_exportable(config.model_type)
    settings = read_settings(model_dir)
    step = _Steps(quiet)
    with _library_chatter_silenced(), replace_dir(out_dir) as bundle_dir, \
            tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.work-", dir=out_dir.parent) as work:
        work = Path(work)
        exported = step("ONNX export", export_onnx, model_dir, work)
        graphs = {"fp32": step("graph optimisation (fp32, CPU)", optimize_fp32, exported, work)}
        if "fp16" in quantize:
            graphs["fp16"] = step("fp16 conversion", convert_fp16, exported, work)
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "source_model": source_model or str(model_dir.resolve()),
            "fingerprint": weights_fingerprint(model_dir),
            "dimension": config.hidden_size,
            "pooling": settings.pooling,
            "normalize": settings.normalize,
            "query_prefix": settings.query_prefix,
            "passage_prefix": settings.passage_prefix,
            "max_length": settings.max_length,
            "tokenizer": _write_tokenizer(model_dir, bundle_dir / TOKENIZER_FILE),
            "variants": {name: _place(graph, bundle_dir / VARIANT_FILES[name]) for name, graph in graphs.items()},
        }
        if "int8" in quantize:
            _add_int8(manifest, model_dir, exported, work, bundle_dir, step, int8_recipes)
        else:
            manifest["parity"] = step("parity check", parity_report, model_dir, ModelBundle(bundle_dir, manifest))
        check_int8_parity(manifest["parity"], force)
        manifest["created_with"] = _package_versions()
        write_manifest(bundle_dir, manifest)
    if not quiet:
        print(format_parity_report(manifest), file=sys.stderr)
    return out_dir


def _add_int8(manifest: dict, model_dir: Path, exported: Path, work: Path, bundle_dir: Path, step,
              recipes) -> None:
    """Quantise with each of `recipes` in turn until one passes the parity gate (the last is kept
    either way, and check_int8_parity judges it); records the parity of every recipe tried."""
    tried = {}
    for recipe in recipes:
        kept = matmuls_kept_fp32(exported, recipe)
        if recipe.keep_fp32 and not kept:
            continue  # this architecture's graph has none of those MatMuls: the same graph as before
        graph = step(f"int8 quantisation ({recipe.name})", quantize_int8, exported, work, recipe, kept)
        manifest["variants"]["int8"] = {**_place(graph, bundle_dir / VARIANT_FILES["int8"]), "recipe": recipe.name}
        manifest["parity"] = step("parity check", parity_report, model_dir, ModelBundle(bundle_dir, manifest))
        tried[recipe.name] = manifest["parity"]["int8"]["mean_cosine"]
        if int8_passes(manifest["parity"]):
            break
    manifest["variants"]["int8"]["recipes_tried"] = tried


def _model_config(model_dir: Path):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model_dir)


def _write_tokenizer(model_dir: Path, path: Path) -> dict:
    """The model's fast tokenizer as one tokenizer.json, without padding or truncation (the engine sets those)."""
    from tokenizers import Tokenizer

    from export.hf_tokenizer import load_hf_tokenizer

    try:
        tokenizer = load_hf_tokenizer(model_dir)
    except (OSError, ValueError) as err:
        raise EngineError(f"cannot load the tokenizer of {model_dir}: {err}") from None
    if not tokenizer.is_fast:
        raise EngineError(f"the tokenizer of {model_dir} has no fast (`tokenizers`) version, which the engine needs")
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.no_truncation()
    backend.save(str(path))
    return {"file": path.name, "sha256": sha256_file(path)}


def _place(graph: Graph, target: Path) -> dict:
    shutil.move(graph.path, target)
    return {"file": target.name, "sha256": sha256_file(target), "quantization": graph.description}


def _package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for package in _RECORDED_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


class _Steps:
    """Runs one export step, saying what it does and how long it took unless quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, label: str, function, *args):
        started = time.perf_counter()
        if not self.quiet:
            print(f"{label}...", end="", file=sys.stderr, flush=True)
        result = function(*args)
        if not self.quiet:
            print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return result


@contextmanager
def _library_chatter_silenced():
    """Tracer warnings, deprecation notes and ORT's 'no GPU' notice say nothing a user can act on."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
