"""Command-line pieces shared by the commands that encode text (search, build-index, add, eval, demo)."""

from __future__ import annotations

from pathlib import Path

import click

from engine.errors import EngineError


def encoder_options(func):
    """--variant, --device, --threads, --batch-size and --token-budget, passed on to `make_encoder`."""
    func = click.option("--variant", help="bundle variant: int8, fp32, fp16 (default: int8 on CPU, fp32 on GPU)")(func)
    func = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)(func)
    func = click.option("--threads", type=int, default=0,
                        help="ONNX Runtime intra-op threads; build-index and add insert into the graph with as "
                             "many (0: all cores)")(func)
    func = click.option("--batch-size", type=int, default=32, show_default=True,
                        help="most texts per encoder batch")(func)
    func = click.option("--token-budget", type=int,
                        help="most padded tokens per encoder batch (default: 1024 on CPU, no bound on GPU; "
                             "0: no bound)")(func)
    return func


def make_encoder(model, variant, device, threads, batch_size, token_budget=None):
    from engine.encoder import Encoder

    if model == "default":
        ensure_default_bundle()
    if batch_size < 1:
        raise EngineError(f"--batch-size must be positive, got {batch_size}")
    if token_budget is not None and token_budget < 0:
        raise EngineError(f"--token-budget must be 0 (no bound) or positive, got {token_budget}")
    if threads < 0:
        raise EngineError(f"--threads must be 0 (all cores) or positive, got {threads}")
    return Encoder(model, variant=variant, device=device, intra_op_threads=threads, batch_size=batch_size,
                   token_budget=token_budget)


def ensure_default_bundle() -> None:
    """Build the default bundle on first use. This is the command layer's job (engine core never imports
    export/); an install without the export extra is told the one command that builds it."""
    from engine.bundle import DEFAULT_BUNDLE_COMMAND, MANIFEST_NAME
    from engine.paths import default_bundle_dir

    if (default_bundle_dir() / MANIFEST_NAME).is_file():
        return
    try:
        from export.default_bundle import make_default_bundle
    except ImportError as err:
        raise EngineError(f"the default model bundle is not built yet, and building it needs the export extra "
                          f"({err.name} is missing): pip install -e '.[export]', then run "
                          f"`{DEFAULT_BUNDLE_COMMAND}` once") from None
    make_default_bundle()


def split_codes(value: str | None) -> list[str] | None:
    """`de, sw` -> ['de', 'sw']; no option -> None; an option that names no code is an error."""
    if value is None:
        return None
    codes = [code.strip() for code in value.split(",") if code.strip()]
    if not codes:
        raise EngineError(f"no language codes in {value!r}: give them comma-separated, e.g. de,sw")
    return codes


def recorded_bundle(index) -> str:
    """The bundle the index was built with, as its manifest recorded it."""
    bundle = index.model.bundle
    if bundle != "default" and not Path(bundle).is_dir():
        raise EngineError(f"index {index.path} was built with the model bundle {bundle}, which is no longer "
                          "there; pass --model with that bundle (or one exported from the same weights)")
    return bundle
