"""`engine` command line: thin wrappers over the Python API; user mistakes exit 1 with one line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from engine.cli_options import encoder_options, make_encoder, split_codes
from engine.errors import EngineError

LANG_LIST = "comma-separated language codes, e.g. de,sw"


class EngineGroup(click.Group):
    """Turns EngineError into `error: ...` on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EngineError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(1)


@click.group(cls=EngineGroup)
def main():
    """Multilingual embedding and search engine."""


def recorded_bundle(index) -> str:
    """The bundle the index was built with, as its manifest recorded it."""
    bundle = index.model.bundle
    if bundle != "default" and not Path(bundle).is_dir():
        raise EngineError(f"index {index.path} was built with the model bundle {bundle}, which is no longer "
                          "there; pass --model with that bundle (or one exported from the same weights)")
    return bundle


@main.command("build-index")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--model", default="default", show_default=True, help="model bundle dir, or `default`")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="index dir to write")
@click.option("--lang", help="language of passages that carry no `lang` field")
@click.option("--M", "m", type=int, default=32, show_default=True, help="HNSW links per node")
@click.option("--ef-construction", type=int, default=200, show_default=True)
@click.option("--ef-search", type=int, default=64, show_default=True, help="default ef at search time")
@click.option("--overwrite", is_flag=True, help="replace an existing index at --out")
@click.option("--quiet", is_flag=True, help="no progress bar")
@encoder_options
def build_index_command(corpus, model, out, lang, m, ef_construction, ef_search, overwrite, quiet,
                        variant, device, threads, batch_size):
    """Encode CORPUS (JSONL or TSV) and write an index dir."""
    from engine.build import build_index
    from engine.index import HnswParams

    encoder = make_encoder(model, variant, device, threads, batch_size)
    params = HnswParams(M=m, ef_construction=ef_construction, ef_search=ef_search)
    summary = build_index(corpus, encoder, out, params, default_lang=lang, overwrite=overwrite, quiet=quiet)
    click.echo(summary.describe())


@main.command("add")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--model", help="model bundle dir, or `default` (default: the one the index was built with)")
@click.option("--lang", help="language of passages that carry no `lang` field")
@click.option("--quiet", is_flag=True)
@encoder_options
def add_command(index_path, corpus, model, lang, quiet, variant, device, threads, batch_size):
    """Add the passages of CORPUS to an existing index."""
    from engine.build import add_to_index
    from engine.index import open_index

    index = open_index(index_path)
    encoder = make_encoder(model or recorded_bundle(index), variant, device, threads, batch_size)
    click.echo(add_to_index(index, corpus, encoder, default_lang=lang, quiet=quiet).describe())


@main.command("delete")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.argument("ids", nargs=-1, required=True)
def delete_command(index_path, ids):
    """Delete passages by id."""
    from engine.index import delete, open_index

    index = delete(open_index(index_path), list(ids))
    click.echo(f"{index.path}: deleted {len(set(ids))}, {index.count} passages left")


@main.command("search")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.argument("queries", nargs=-1)
@click.option("-k", type=int, default=10, show_default=True, help="hits per query")
@click.option("--lang", help=f"only passages in these languages ({LANG_LIST})")
@click.option("--ef", type=int, help="HNSW search breadth (default: the index's ef_search)")
@click.option("--rescore", is_flag=True, help="fetch 4k candidates and rank them exactly with the stored vectors")
@click.option("--queries", "queries_file", type=click.File("r", encoding="utf-8-sig"),
              help="TSV file of `qid<TAB>query` lines (`-` for stdin); prints a TREC run")
@click.option("--run-tag", default="engine", show_default=True, help="run name in the TREC output")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@click.option("--model", help="model bundle dir, or `default` (default: the one the index was built with)")
@encoder_options
def search_command(index_path, queries, k, lang, ef, rescore, queries_file, run_tag, as_json, model,
                   variant, device, threads, batch_size):
    """Search INDEX with one or more QUERIES in any language."""
    from engine.index import open_index
    from engine.search import Searcher
    from engine import output

    if bool(queries) == bool(queries_file):
        raise EngineError("give either QUERIES on the command line or --queries FILE, not both or neither")
    index = open_index(index_path)
    searcher = Searcher(index, make_encoder(model or recorded_bundle(index), variant, device, threads, batch_size))
    qids, texts = output.read_queries(queries_file) if queries_file else (None, list(queries))
    started = time.perf_counter()
    results = searcher.search(texts, k=k, languages=split_codes(lang), ef=ef, rescore=rescore)
    seconds = time.perf_counter() - started
    if qids is not None:
        output.write_trec_run(sys.stdout, qids, results, run_tag)
    elif as_json:
        click.echo(json.dumps(output.results_json(texts, results, seconds), ensure_ascii=False, indent=2))
    else:
        click.echo(output.results_text(texts, results, seconds))


@main.command("info")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def info_command(index_path, as_json):
    """Print an index's manifest: model, HNSW parameters, count, languages."""
    from engine.index import open_index
    from engine import output

    index = open_index(index_path)
    click.echo(json.dumps(index.manifest, indent=2) if as_json else output.index_info(index))


@main.command("demo")
@click.option("--model", default="default", show_default=True, help="model bundle dir, or `default`")
@click.option("--out", type=click.Path(path_type=Path), help="where to keep the demo index (default: the cache dir)")
@click.option("-k", type=int, default=3, show_default=True)
@click.option("--quiet", is_flag=True)
def demo_command(model, out, k, quiet):
    """Quickstart: make the default bundle, index the bundled demo corpus, run sample searches."""
    from engine.demo import run_demo

    run_demo(model, out, k, quiet, echo=click.echo)


@main.command("export")
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
        from export.bundle_writer import export_bundle
        from export.default_bundle import SOURCE_MODEL
        from export.parity import format_parity_report
        from train.base_models import resolve_base_model
    except ImportError as err:
        raise EngineError(f"export needs the train and export extras ({err.name} is missing): "
                          "pip install -e '.[train,export]'") from None
    if out is None and model != "default":
        raise EngineError("--out is required unless MODEL is `default`")
    variants = tuple(name for name in quantize if name != "none")
    source = SOURCE_MODEL if model == "default" else None
    bundle_dir = export_bundle(resolve_base_model(model), out or default_bundle_dir(), variants, force=force,
                               quiet=quiet, source_model=source)
    click.echo(f"wrote {bundle_dir}")
    click.echo(format_parity_report(read_manifest(bundle_dir)))


@main.command("bundle-info")
@click.argument("bundle", default="default")
@click.option("--json", "as_json", is_flag=True)
def bundle_info_command(bundle, as_json):
    """Print a model bundle's manifest and its parity report."""
    from engine.bundle import load_bundle

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
    try:
        from export.parity import format_parity_report
    except ImportError:
        return
    click.echo(format_parity_report(manifest))



def _register_subcommands():
    """Commands that live beside their packages (evaluation, training)."""
    from engine.evaluation.cli import eval_command

    main.add_command(eval_command, "eval")
    try:
        from train.cli import build_pairs_command, experiment_command, merge_command, train_command
    except ImportError:  # the train extra is not installed: serving still works
        return
    main.add_command(train_command, "train")
    main.add_command(build_pairs_command, "build-training-pairs")
    main.add_command(experiment_command, "experiment")
    main.add_command(merge_command, "merge")


_register_subcommands()
