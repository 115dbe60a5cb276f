"""`engine` command line: thin wrappers over the Python API; user mistakes exit 1 with one line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from engine.cli_options import encoder_options, ensure_default_bundle, make_encoder, recorded_bundle, split_codes
from engine.errors import EngineError

LANG_LIST = "comma-separated language codes, e.g. de,sw"


USAGE_EXIT = 2  # a mistake in the command line itself (unknown option, missing argument, bad number)


class EngineGroup(click.Group):
    """Every mistake is one `error: ...` line on stderr, never a traceback: exit status 1 for what the
    command was given (files, indexes, values), 2 for the command line itself (Click's usage errors)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EngineError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)

    def main(self, *args, **kwargs):
        # Not standalone, so that usage errors reach us instead of Click's four-line message; Click
        # then returns --help's exit status instead of exiting, which sys.exit passes on.
        try:
            sys.exit(super().main(*args, standalone_mode=False, **kwargs))
        except click.UsageError as err:
            command = err.ctx.command_path if err.ctx else "engine"
            click.echo(f"error: {err.format_message()} (see `{command} --help`)", err=True)
            sys.exit(USAGE_EXIT)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)


@click.group(cls=EngineGroup)
def main():
    """Multilingual embedding and search engine."""


@main.command("build-index")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--model", default="default", show_default=True, help="model bundle dir, or `default`")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="index dir to write")
@click.option("--lang", help="language of passages that carry no `lang` field")
@click.option("--M", "m", type=int, default=32, show_default=True, help="HNSW links per node")
@click.option("--ef-construction", type=int, default=200, show_default=True)
@click.option("--ef-search", type=int, default=64, show_default=True, help="default ef at search time")
@click.option("--overwrite", is_flag=True, help="replace an existing index at --out")
@click.option("--shards", type=int, default=1, show_default=True,
              help="write a sharded index of N shards, partitioned by a hash of the id")
@click.option("--ray", "ray_address", help="encode on a Ray cluster: `auto` (the running one, else a local one) "
                                         "or its address (needs the scale extra)")
@click.option("--ray-actors", type=int, default=2, show_default=True, help="encoder actors on the cluster")
@click.option("--ray-cpus-per-actor", type=float, default=1.0, show_default=True)
@click.option("--ray-gpus-per-actor", type=float, default=0.0, show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bar")
@encoder_options
def build_index_command(corpus, model, out, lang, m, ef_construction, ef_search, overwrite, shards, ray_address,
                        ray_actors, ray_cpus_per_actor, ray_gpus_per_actor, quiet, variant, device, threads,
                        batch_size, token_budget):
    """Encode CORPUS (JSONL or TSV) and write an index dir."""
    from engine.build import build_index
    from engine.index import HnswParams

    encoder = make_encoder(model, variant, device, threads, batch_size, token_budget)
    params = HnswParams(M=m, ef_construction=ef_construction, ef_search=ef_search)
    ray = None
    if ray_address:
        from engine.scale.encode import RayEncoding

        ray = RayEncoding(ray_address, ray_actors, ray_cpus_per_actor, ray_gpus_per_actor).check()
    summary = build_index(corpus, encoder, out, params, default_lang=lang, overwrite=overwrite, quiet=quiet,
                          shards=shards, ray=ray)
    click.echo(summary.describe())


@main.command("add")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--model", help="model bundle dir, or `default` (default: the one the index was built with)")
@click.option("--lang", help="language of passages that carry no `lang` field")
@click.option("--quiet", is_flag=True)
@encoder_options
def add_command(index_path, corpus, model, lang, quiet, variant, device, threads, batch_size,
                token_budget):
    """Add the passages of CORPUS to an existing index."""
    from engine.build import add_to_index
    from engine.index import open_index

    index = open_index(index_path)
    encoder = make_encoder(model or recorded_bundle(index), variant, device, threads, batch_size, token_budget)
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
@click.option("--queries", "queries_file", type=click.File("rb"),
              help="TSV file of `qid<TAB>query` lines (`-` for stdin); prints a TREC run")
@click.option("--run-tag", default="engine", show_default=True, help="run name in the TREC output")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@click.option("--model", help="model bundle dir, or `default` (default: the one the index was built with)")
@click.option("--ray", "ray_address", help="a sharded index: search each shard in a Ray actor of its own, on a "
                                           "cluster (`auto` or an address; needs the scale extra)")
@click.option("--ray-cpus-per-shard", type=float, default=1.0, show_default=True, help="with --ray")
@encoder_options
def search_command(index_path, queries, k, lang, ef, rescore, queries_file, run_tag, as_json, model, ray_address,
                   ray_cpus_per_shard, variant, device, threads, batch_size, token_budget):
    """Search INDEX with one or more QUERIES in any language."""
    from engine import output
    from engine.corpus import read_queries
    from engine.index import open_index
    from engine.search import Searcher

    if bool(queries) == bool(queries_file):
        raise EngineError("give either QUERIES on the command line or --queries FILE, not both or neither")
    qids, texts = read_queries(queries_file) if queries_file else (None, list(queries))
    if qids is not None:
        output.check_trec_field(run_tag, "--run-tag")
    index = open_index(index_path, load_shards=not ray_address)
    if ray_address and not getattr(index, "is_sharded", False):
        raise EngineError(f"--ray searches the shards of a sharded index; {index.path} is one index "
                          "(build one with `engine build-index --shards N`)")
    encoder = make_encoder(model or recorded_bundle(index), variant, device, threads, batch_size, token_budget)
    remote = _remote_shards(ray_address, ray_cpus_per_shard) if ray_address else None
    try:
        searcher = Searcher(index, encoder, shard_parts=remote)
        started = time.perf_counter()
        results = searcher.search(texts, k=k, languages=split_codes(lang), ef=ef, rescore=rescore)
        seconds = time.perf_counter() - started
    finally:
        if remote is not None:
            remote.close()
    if qids is not None:
        output.write_trec_run(sys.stdout, qids, results, run_tag)
    elif as_json:
        rows = [[output.hit_json(hit) for hit in hits] for hits in results]
        click.echo(json.dumps(output.results_json(texts, rows, seconds), ensure_ascii=False, indent=2))
    else:
        click.echo(output.results_text(texts, results, seconds))


def _remote_shards(address: str, cpus_per_shard: float):
    from engine.scale.shard_actors import RemoteShards

    if cpus_per_shard <= 0:
        raise EngineError(f"--ray-cpus-per-shard must be positive, got {cpus_per_shard}")
    return RemoteShards(address, cpus_per_shard)


@main.command("info")
@click.argument("index_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.option("--verify", is_flag=True, help="also check the model bundle the index records (it must exist, be "
                                             "intact and match the index's fingerprint); exit 1 on any finding")
def info_command(index_path, as_json, verify):
    """Print an index's manifest: model, HNSW parameters, count, languages. Opening it checks the
    manifest's fields and every file's checksum."""
    from engine import output
    from engine.index import open_index

    index = open_index(index_path)
    click.echo(json.dumps(index.manifest, indent=2) if as_json else output.index_info(index))
    if verify:
        problem = _recorded_bundle_problem(index)
        if problem:
            raise EngineError(f"verify: {problem}")
        click.echo("verify: manifest, files, metadata and model bundle all check out", err=as_json)


def _recorded_bundle_problem(index) -> str | None:
    """What is wrong with the bundle the index records, or None."""
    from engine.bundle import load_bundle

    try:
        bundle = load_bundle(recorded_bundle(index))
        bundle.tokenizer_file()
        bundle.variant_file(index.model.variant)
        index.check_model(bundle.fingerprint, str(bundle.path))
    except EngineError as err:
        return str(err)
    return None


@main.command("demo")
@click.option("--model", default="default", show_default=True, help="model bundle dir, or `default`")
@click.option("--out", type=click.Path(path_type=Path), help="where to keep the demo index (default: the cache dir)")
@click.option("-k", type=int, default=3, show_default=True)
@click.option("--quiet", is_flag=True)
def demo_command(model, out, k, quiet):
    """Quickstart: make the default bundle, index the bundled demo corpus, run sample searches."""
    from engine.demo import run_demo

    if model == "default":
        ensure_default_bundle()
    run_demo(model, out, k, quiet, echo=click.echo)


def _register_stage_commands():
    """Commands that live beside their packages. The command layer is the one place in engine/ that
    imports the other stages (pyproject's import contracts name these two imports); a serving-only
    install, without the export or train extra, still has every serving command."""
    from engine.evaluation.cli import eval_command
    from engine.serve.cli import serve_command

    main.add_command(eval_command, "eval")
    main.add_command(serve_command, "serve")
    try:
        from export.cli import register as register_export
    except ImportError:
        return
    register_export(main)
    try:
        from train.cli import register as register_train
    except ImportError:
        return
    register_train(main)


_register_stage_commands()
