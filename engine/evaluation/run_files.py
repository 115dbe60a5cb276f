"""TREC run and qrels files for an evaluation, so any trec_eval-compatible tool can check the figures."""

from __future__ import annotations

import numpy as np

from engine.evaluation.evaluate import EvalResult


def write_run(handle, result: EvalResult, tag: str) -> None:
    """`qid Q0 docid rank score tag` for the top candidates kept per query."""
    bench, exact = result.bench, result.exact
    if exact.top_rows is None:
        raise ValueError("no top candidates were kept: evaluate with EvalOptions(keep_run=True)")
    for query_id, rows, scores in zip(bench.query_ids, exact.top_rows.tolist(), exact.top_scores.tolist()):
        handle.writelines(f"{query_id} Q0 {bench.candidate_ids[row]} {rank} {score:.6f} {tag}\n"
                          for rank, (row, score) in enumerate(zip(rows, scores), start=1) if row >= 0)


def write_qrels(handle, result: EvalResult) -> None:
    """`qid 0 docid relevance` for the pools the run was taken from."""
    bench = result.bench
    query_of_entry = bench.qrels.query_of_entry
    keep = np.ones(len(query_of_entry), dtype=bool)
    if result.run_setting == "mono":
        keep = bench.qrels.lang == bench.query_langs[query_of_entry]
    for entry in np.flatnonzero(keep).tolist():
        handle.write(f"{bench.query_ids[query_of_entry[entry]]} 0 {bench.qrels.ids[entry]} "
                     f"{round(bench.qrels.gain[entry])}\n")
