"""`engine export` and `engine bundle-info`: thin click wrappers over export/."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.cli_options import ensure_default_bundle
from engine.errors import EngineError
from export.parity import format_parity_report


def register(group: click.Group) -> None:
    group.add_command(export_command, "export")
    group.add_command(bundle_info_command, "bundle-info")


@click.command()
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path),
              help="bundle dir to write (default for MODEL `default`: the default bundle in the cache)")
@click.option("--quantize", type=click.Choice(["int8", "fp16", "none"]), multiple=True, default=["int8"],
              show_default=True, help="variants besides fp32 (repeat for several; `none`: fp32 only)")
@click.option("--force", is_flag=True, help="write the bundle even when int8 parity is below the threshold")
@click.option("--quiet", is_flag=True)
def export_command(model, out, quantize, force, quiet):
    """Export MODEL (an HF model dir, an HF id, or `default`) to an ONNX model bundle."""
    from engine.bundle import read_manifest
    from engine.paths import default_bundle_dir

    try:
        from export.base_models import resolve_base_model
        from export.bundle_writer import export_bundle
        from export.default_bundle import SOURCE_MODEL
    except ImportError as err:
        raise EngineError(f"export needs the export extra ({err.name} is missing): pip install -e '.[export]'") from None

    if out is None and model != "default":
        raise EngineError("--out is required unless MODEL is `default`")
    variants = tuple(name for name in quantize if name != "none")
    source = SOURCE_MODEL if model == "default" else None
    bundle_dir = export_bundle(resolve_base_model(model), out or default_bundle_dir(), variants, force=force,
                               quiet=quiet, source_model=source)
    click.echo(f"wrote {bundle_dir}")
    click.echo(format_parity_report(read_manifest(bundle_dir)))


@click.command()
@click.argument("bundle", default="default")
@click.option("--json", "as_json", is_flag=True)
def bundle_info_command(bundle, as_json):
    """Print a model bundle's manifest and its parity report."""
    from engine.bundle import load_bundle

    if bundle == "default":
        ensure_default_bundle()
    loaded = load_bundle(bundle)
    if as_json:
        click.echo(json.dumps(loaded.manifest, indent=2, ensure_ascii=False))
        return
    manifest = loaded.manifest
    click.echo(f"bundle:      {loaded.path}")
    click.echo(f"source:      {manifest['source_model']}")
    click.echo(f"fingerprint: {manifest['fingerprint']}")
    click.echo(f"embedding:   dimension {manifest['dimension']}, {manifest['pooling']} pooling, "
               f"{'L2-normalised' if manifest['normalize'] else 'not normalised'}, max length {manifest['max_length']}")
    click.echo(f"prefixes:    query {manifest['query_prefix']!r}, passage {manifest['passage_prefix']!r}")
    for name, variant in manifest["variants"].items():
        size = (loaded.path / variant["file"]).stat().st_size / 1e6
        click.echo(f"variant:     {name:<5} {variant['file']} ({size:.0f} MB): {variant.get('quantization', '')}")
    click.echo(format_parity_report(manifest))
