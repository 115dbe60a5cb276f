"""`engine eval BENCHMARK`: a thin wrapper over engine.evaluation.evaluate."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli_options import encoder_options, make_encoder, split_codes


@click.command()
@click.argument("benchmark")
@click.option("--model", default="default", show_default=True, help="model bundle dir, or `default`")
@click.option("--langs", help="comma-separated languages (default: all of the benchmark's; miracl and "
                                "miracl-subset: those with passages in the data dir)")
@click.option("--settings", help="comma-separated: mono, cross, multi (default: all the benchmark has)")
@click.option("--max-queries", type=int, help="only the first N queries of each language")
@click.option("--candidate-text", help="xquad-r/mlqa-r: sentence+context (default, as the paper) or sentence; "
                                       "miracl: title+text (default) or text")
@click.option("--hnsw", is_flag=True, help="also rank through in-memory HNSW graphs and report the loss")
@click.option("--M", "m", type=int, default=32, show_default=True, help="HNSW links per node")
@click.option("--ef-construction", type=int, default=200, show_default=True)
@click.option("--ef", type=int, default=64, show_default=True, help="HNSW search breadth")
@click.option("--depth", type=int, default=100, show_default=True, help="hits per query in the run file and HNSW")
@click.option("--json", "as_json", is_flag=True, help="print the full JSON report instead of the summary")
@click.option("--out", type=click.Path(path_type=Path), help="dir to write the JSON, TREC run/qrels and heat map")
@click.option("--no-cache", is_flag=True, help="neither read nor write the embedding cache")
@click.option("--quiet", is_flag=True, help="no progress bars")
@encoder_options
def eval_command(benchmark, model, variant, langs, settings, max_queries, candidate_text, hnsw, m,
                 ef_construction, ef, depth, as_json, out, no_cache, device, threads, batch_size, token_budget,
                 quiet):
    """Evaluate a model bundle on BENCHMARK: xquad-r, mlqa-r, miracl, miracl-subset or flores200."""
    from engine.evaluation.evaluate import EvalOptions, prepare, run_prepared
    from engine.evaluation.heatmap import load_pyplot
    from engine.evaluation.outputs import check_out_dir, report_json, write_outputs
    from engine.evaluation.summary import summary_text
    from engine.index import HnswParams

    if out is not None:  # fail before the long run, not after it
        check_out_dir(out)
        load_pyplot()
    options = EvalOptions(
        languages=split_codes(langs), settings=split_codes(settings), max_queries=max_queries,
        candidate_text=candidate_text,
        hnsw=HnswParams(M=m, ef_construction=ef_construction, ef_search=ef) if hnsw else None, depth=depth,
        keep_run=out is not None, use_cache=not no_cache, quiet=quiet,
    )
    prepared = prepare(benchmark, options)
    encoder = make_encoder(model, variant, device, threads, batch_size, token_budget)
    result = run_prepared(prepared, encoder)
    click.echo(report_json(result.report) if as_json else summary_text(result.report), nl=not as_json)
    if out is not None:
        for path in write_outputs(result, out):
            click.echo(f"wrote {path}", err=as_json)
