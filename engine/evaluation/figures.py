"""From ranked pools to figures: per pool (mean over its queries) and per setting (mean over its pools).

This is the paper's macro average: monolingual and multilingual figures average over query
languages, cross-lingual ones over ordered language pairs. Rank distance averages over the
queries with at least two relevant candidates found.
"""

from __future__ import annotations

import numpy as np

from engine.evaluation import metrics
from engine.evaluation.pools import Pool, RankedPool

RANK_DISTANCE = "rank_distance"


def metric_names(benchmark_metrics: tuple[str, ...], setting: str) -> tuple[str, ...]:
    """The benchmark's metrics, plus rank distance (language bias) in the multilingual setting."""
    return benchmark_metrics + ((RANK_DISTANCE,) if setting == "multi" else ())


def setting_figures(ranked: dict[Pool, RankedPool], setting: str, names: tuple[str, ...]) -> dict:
    """{"macro": {metric: mean over pools}, "pools": {pool key: {"queries": n, metric: mean over queries}}}"""
    per_pool = {pool.key: pool_figures(result, names) for pool, result in ranked.items() if pool.setting == setting}
    macro = {}
    for name in names:
        values = [figures[name] for figures in per_pool.values() if figures[name] is not None]
        macro[name] = float(np.mean(values)) if values else None
    return {"macro": macro, "pools": per_pool}


def pool_figures(result: RankedPool, names: tuple[str, ...]) -> dict:
    figures = {"queries": len(result.queries)}
    for name in names:
        values = metrics.metric(name)(result.ranks, result.gains)
        values = values[~np.isnan(values)]
        figures[name] = float(values.mean()) if len(values) else None
    return figures


def hnsw_comparison(settings: list[str], names: tuple[str, ...], exact: dict[Pool, RankedPool],
                    approximate: dict[Pool, RankedPool], depth: int) -> dict:
    """HNSW figures beside exact ones cut at the same depth, so the loss is the graph's alone."""
    cut_exact = {pool: RankedPool(result.queries, np.where(result.ranks <= depth, result.ranks, np.inf), result.gains)
                 for pool, result in exact.items()}
    comparison = {}
    for setting in settings:
        hnsw = setting_figures(approximate, setting, names)
        cut = setting_figures(cut_exact, setting, names)["macro"]
        comparison[setting] = {
            "macro": hnsw["macro"],
            "exact_at_depth": cut,
            "loss": {name: cut[name] - hnsw["macro"][name] for name in names},
            "pools": hnsw["pools"],
        }
    return comparison


def language_matrix(report: dict, metric: str = "map") -> np.ndarray | None:
    """(query language, candidate language) figures from the mono and cross pools; None without cross pools."""
    settings = report["settings"]
    if "cross" not in settings:
        return None
    languages = report["languages"]
    matrix = np.full((len(languages), len(languages)), np.nan)
    for row, query_lang in enumerate(languages):
        for column, candidate_lang in enumerate(languages):
            setting, key = ("mono", query_lang) if row == column else ("cross", f"{query_lang}-{candidate_lang}")
            figures = settings.get(setting, {}).get("pools", {}).get(key)
            if figures and figures.get(metric) is not None:
                matrix[row, column] = figures[metric]
    return matrix
