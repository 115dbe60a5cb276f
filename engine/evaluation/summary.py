"""The text summary `engine eval` prints: figures per setting, per language, and the time split."""

from __future__ import annotations

import numpy as np

from engine.evaluation.figures import language_matrix

LABELS = {"map": "mAP", "rank_distance": "rank dist.", "recall@1": "R@1", "recall@10": "R@10",
          "recall@100": "R@100", "ndcg@10": "nDCG@10"}
TIMINGS = ("load", "encode", "scoring", "metrics", "hnsw")


def summary_text(report: dict) -> str:
    counts = report["counts"]
    model = report["model"]
    lines = [
        f"{report['title']}: {len(report['languages'])} language(s), {sum(counts['queries'].values()):,} queries, "
        f"{sum(counts['candidates'].values()):,} candidates (candidate text: {report['candidate_text']})",
        f"model: {model['source_model']} [{model['variant']}], fingerprint {model['fingerprint'][:12]}",
    ]
    if report["note"]:
        lines.append(f"note: {report['note']}")
    lines += ["", *_settings_table(report), "", *_language_table(report)]
    if "hnsw" in report:
        lines += ["", *_hnsw_lines(report["hnsw"])]
    timings = report["timings_s"]
    encoding = report["encoding"]
    lines += ["", "time: " + " | ".join(f"{name} {timings[name]:.1f} s" for name in TIMINGS if name in timings)
              + f" | total {timings['total']:.1f} s",
              f"(encoded {encoding['encoded_texts']:,} texts, {encoding['cached_texts']:,} from the embedding cache)"]
    return "\n".join(lines)


def _settings_table(report: dict) -> list[str]:
    names = _metric_names(report)
    rows = [["setting", "pools", "queries", *(LABELS.get(name, name) for name in names)]]
    for setting, figures in report["settings"].items():
        pools = figures["pools"].values()
        rows.append([setting, str(len(pools)), str(sum(pool["queries"] for pool in pools)),
                     *(_format(name, figures["macro"].get(name)) for name in names)])
    return _table(rows)


def _language_table(report: dict) -> list[str]:
    """Per query language: every metric when only the monolingual setting ran, else mAP per setting."""
    settings = report["settings"]
    languages = report["languages"]
    if list(settings) == ["mono"]:
        names = _metric_names(report)
        rows = [["lang", "queries", "candidates", *(LABELS.get(name, name) for name in names)]]
        for lang in languages:
            figures = settings["mono"]["pools"][lang]
            rows.append([lang, str(figures["queries"]), str(report["counts"]["candidates"][lang]),
                         *(_format(name, figures[name]) for name in names)])
        return _table(rows)
    headline = next(iter(settings.values()))["macro"]
    metric = "map" if "map" in headline else next(iter(headline))
    header = ["lang", "queries", *(f"{LABELS.get(metric, metric)} {setting}" for setting in settings)]
    if "multi" in settings:
        header.append(LABELS["rank_distance"])
    rows = [header]
    matrix = language_matrix(report, metric)
    for number, lang in enumerate(languages):
        row = [lang, str(report["counts"]["queries"][lang])]
        for setting in settings:
            if setting == "cross":
                others = np.delete(matrix[number], number)
                row.append(_format(metric, float(np.nanmean(others)) if not np.isnan(others).all() else None))
            else:
                row.append(_format(metric, settings[setting]["pools"][lang][metric]))
        if "multi" in settings:
            row.append(_format("rank_distance", settings["multi"]["pools"][lang]["rank_distance"]))
        rows.append(row)
    caption = "by query language (cross: mean over the pairs with that query language)"
    return [caption, *_table(rows)]


def _hnsw_lines(hnsw: dict) -> list[str]:
    lines = [f"HNSW (M={hnsw['M']}, ef_construction={hnsw['ef_construction']}, ef={hnsw['ef_search']}, "
             f"top {hnsw['depth']}) against exact search cut at the same depth:"]
    for setting, figures in hnsw["settings"].items():
        parts = [f"{LABELS.get(name, name)} {figures['exact_at_depth'][name]:.4f} -> {value:.4f} "
                 f"(loss {round(figures['loss'][name], 4) + 0.0:+.4f})" for name, value in figures["macro"].items()]
        lines.append(f"  {setting}: " + ", ".join(parts))
    return lines


def _metric_names(report: dict) -> list[str]:
    names = []
    for figures in report["settings"].values():
        names += [name for name in figures["macro"] if name not in names]
    return names


def _format(name: str, value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if name == "rank_distance" else f"{value:.4f}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                      for column, (cell, width) in enumerate(zip(row, widths))).rstrip() for row in rows]
