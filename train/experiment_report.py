"""Collect an experiment dir (train.experiment) into results.json and a markdown table, results.md.

Figures of several seeds of one configuration are shown as mean ± half their range, so a
difference between configurations can be read against the seed-to-seed spread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from engine.bundle import MANIFEST_NAME
from engine.errors import EngineError
from export.onnx_export import int8_format_of
from train.experiment import SETTINGS_FILE
from train.experiment_results import damaged_result, read_result

# Languages the long-tail table shows: MIRACL-subset nDCG@10 per language, and XQuAD-R and MLQA-R
# cross-lingual mAP per query language (el, ru, th, tr: in no MLQA-R pair, only in NTREX sentences;
# hi is MLQA-R's one long-tail language).
LONG_TAIL_MIRACL = ("yo", "sw", "te", "bn", "th", "hi")
LONG_TAIL_XQUAD = ("th", "hi", "el", "ru", "tr")
LONG_TAIL_MLQA = ("hi",)
RUN_NAME = re.compile(r"^(?P<config>.+)-s(?P<seed>\d+)$")


def collect(out_dir: Path) -> dict:
    """Every figure of the base model and of each finished run, grouped by configuration."""
    out_dir = Path(out_dir)
    configs: dict[str, dict] = {}
    variant = _eval_variant(out_dir)
    base = _run_figures(out_dir / "base", variant)
    if base:
        configs["base"] = {"seeds": {"-": base}}
    for run_dir in sorted((out_dir / "runs").glob("*-s*")):
        match = RUN_NAME.match(run_dir.name)
        figures = _run_figures(run_dir, variant)
        if match and figures.get("benchmarks"):
            configs.setdefault(match["config"], {"seeds": {}})["seeds"][match["seed"]] = figures
    for config in configs.values():
        config["mean"], config["half_range"], config["seed_count"] = _summarise(list(config["seeds"].values()))
    # The machines the reports were made on (a dir can be continued on several), not the one writing the table.
    machines = sorted({name for config in configs.values() for run in config["seeds"].values()
                       for name in run["machines"]})
    return {"machines": machines, "budget": _budget(out_dir), "eval_variant": variant, "configurations": configs}


def write_report(out_dir: Path) -> list[Path]:
    results = collect(out_dir)
    json_path, markdown_path = Path(out_dir) / "results.json", Path(out_dir) / "results.md"
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(results), encoding="utf-8")
    written = [json_path, markdown_path]
    if "base" in results["configurations"] and len(results["configurations"]) > 1:
        written.append(plot_differences(results, Path(out_dir) / "results.png"))
        if any(MERGED.match(name) for name in results["configurations"]):
            written.append(plot_merge_tradeoff(results, Path(out_dir) / "merge-tradeoff.png"))
    return written


MERGED = re.compile(r"^(?P<config>.+)\+merge(?P<ratio>[0-9.]+)$")


def merge_curves(results: dict, x=("xquad-r", "mono/map"), y=("xquad-r", "multi/map")) -> dict:
    """Per merged configuration, its (ratio, x, y) points from the base model (ratio 0) to the run itself (1)."""
    configs = results["configurations"]

    curves = {}
    for tuned, path in merge_paths(configs).items():
        points = []
        for ratio, name in path:
            figures = configs[name]["mean"]
            values = (figures.get(x[0], {}).get(x[1]), figures.get(y[0], {}).get(y[1]))
            if None not in values:
                points.append((ratio, *values))
        curves[tuned] = points
    return curves


def merge_paths(configs: dict) -> dict[str, list[tuple[float, str]]]:
    """Per merged configuration, its (ratio, configuration) steps: the base model (0), its merges, the run (1)."""
    paths: dict[str, list] = {}
    for name in configs:
        match = MERGED.match(name)
        if match:
            paths.setdefault(match["config"], []).append((float(match["ratio"]), name))
    for tuned, path in paths.items():
        path += [(0.0, "base")] * ("base" in configs) + [(1.0, tuned)] * (tuned in configs)
        path.sort()
    return paths


# The trade-off panels: XQuAD-R monolingual mAP (what fine-tuning must not lose) against what it should gain.
MONO = ("xquad-r", "mono/map")
TRADEOFF_PANELS = ((("xquad-r", "multi/map"), "XQuAD-R multilingual mAP"),
                   (("flores200", "cross/map"), "FLORES-200 dev bitext mAP"))


def plot_merge_tradeoff(results: dict, path: Path) -> Path:
    """XQuAD-R monolingual mAP against multilingual mAP and FLORES bitext mAP along each merge path."""
    from engine.evaluation.heatmap import load_pyplot

    pyplot = load_pyplot()
    figure, axes = pyplot.subplots(1, len(TRADEOFF_PANELS), figsize=(12, 5))
    for axis, (gain, label) in zip(axes, TRADEOFF_PANELS):
        for tuned, points in merge_curves(results, MONO, gain).items():
            axis.plot([point[1] for point in points], [point[2] for point in points], "o-", label=tuned)
            for ratio, mono, gained in points:
                axis.annotate(f"{ratio:g}", (mono, gained), textcoords="offset points", xytext=(4, 4), fontsize=7)
        axis.set(xlabel="XQuAD-R monolingual mAP", ylabel=label)
        axis.legend(fontsize=8)
    figure.suptitle("Merging with the base model: (1 - R) base + R fine-tuned (R beside each point)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def plot_differences(results: dict, path: Path) -> Path:
    """Each configuration's difference to the base model: headline mAP/nDCG figures, then the long tail."""
    from engine.evaluation.heatmap import load_pyplot

    pyplot = load_pyplot()
    configs = {name: config for name, config in results["configurations"].items() if name != "base"}
    base = results["configurations"]["base"]["mean"]
    panels = [("headline", [column for column in HEADLINE if "rank_distance" not in column[2]]),
              ("long-tail languages", list(LONG_TAIL))]
    figure, axes = pyplot.subplots(len(panels), 1, figsize=(11, 8))
    for axis, (title, columns) in zip(axes, panels):
        columns = [column for column in columns if column[2] in base.get(column[1], {})]
        labels = [f"{benchmark} {figure}" for _, benchmark, figure in columns]
        width = 0.8 / len(configs)
        for number, (name, config) in enumerate(configs.items()):
            deltas = [config["mean"].get(benchmark, {}).get(figure, np.nan) - base[benchmark][figure]
                      for _, benchmark, figure in columns]
            spread = [config["half_range"].get(benchmark, {}).get(figure, 0.0) for _, benchmark, figure in columns]
            positions = np.arange(len(columns)) + (number - (len(configs) - 1) / 2) * width
            axis.bar(positions, deltas, width, yerr=spread if len(config["seeds"]) > 1 else None, label=name)
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set_xticks(np.arange(len(columns)), labels, fontsize=7, rotation=25, ha="right")
        axis.set(ylabel="difference to base", title=title)
    axes[0].legend(fontsize=8, ncol=len(configs))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def _eval_variant(out_dir: Path) -> str:
    path = out_dir / SETTINGS_FILE
    return read_result(path, ("eval_variant",))["eval_variant"] if path.is_file() else "int8"


def _run_figures(run_dir: Path, variant: str) -> dict:
    figures: dict = {"benchmarks": {}}
    formats, evaluated_weights, machines = set(), set(), set()
    for path in sorted((run_dir / "eval").glob("*.json")):
        report = read_result(path, ("settings", "languages"))
        try:
            figures["benchmarks"][path.stem] = _benchmark_figures(report)
        except (KeyError, TypeError, AttributeError) as err:  # a hand edit inside the settings
            problem = f"its settings are not those of an engine eval report: {err!r}"
            raise EngineError(damaged_result(path, problem)) from None
        if "machine" in report:
            machines.add(f"{report['machine']['machine']}, OMP_NUM_THREADS={report['machine'].get('OMP_NUM_THREADS')}")
        if "quantization" in report.get("model", {}):
            formats.add(int8_format_of(report["model"]["quantization"]))
        if "fingerprint" in report.get("model", {}):
            evaluated_weights.add(report["model"]["fingerprint"])
    figures["quantization_formats"] = sorted(formats)
    figures["machines"] = sorted(machines)
    log = run_dir / "train" / "training_log.json"
    if log.is_file():
        training = read_result(log, ("step", "best", "stopped_early"))
        figures["training"] = {"steps": training["step"], "wall_s": training.get("wall_s"),
                               "best_validation_loss": training["best"], "stopped_early": training["stopped_early"]}
    manifest = run_dir / "bundle" / MANIFEST_NAME
    if manifest.is_file():
        bundle = read_result(manifest)
        figures["parity_mean_cosine"] = bundle.get("parity", {}).get(variant, {}).get("mean_cosine")
        # A run trained again for a merge's weights (train.experiment._train) keeps the reports of its first
        # training; the float noise between the two trainings changes the weights' fingerprint.
        figures["trained_again"] = bool(evaluated_weights - {bundle.get("fingerprint")})
    stages = run_dir / "stages.json"
    if stages.is_file():
        figures["stages_wall_s"] = {name: stage["wall_s"] for name, stage in
                                    read_result(stages).items()}
    return figures


def _mixed_formats(configs: dict) -> dict[str, list[str]]:
    """Quantisation format -> the configurations evaluated with it, when there is more than one."""
    users: dict[str, list[str]] = {}
    for name, config in configs.items():
        for run in config["seeds"].values():
            for fmt in run.get("quantization_formats", []):
                if name not in users.setdefault(fmt, []):
                    users[fmt].append(name)
    return users if len(users) > 1 else {}


def _benchmark_figures(report: dict) -> dict:
    """The headline figures of one `engine eval` report, flattened to `setting/metric` and per language."""
    flat = {}
    for setting, figures in report["settings"].items():
        for metric, value in figures["macro"].items():
            flat[f"{setting}/{metric}"] = value
        pools = figures["pools"]
        for lang in report["languages"]:
            if setting == "cross":  # pools are query-candidate pairs: average those asked in `lang`
                values = [pool["map"] for name, pool in pools.items() if name.split("-")[0] == lang]
                if values:
                    flat[f"cross/{lang}/map"] = float(np.mean(values))
            elif lang in pools:
                for metric, value in pools[lang].items():
                    if metric != "queries":
                        flat[f"{setting}/{lang}/{metric}"] = value
    return flat


def _summarise(seed_figures: list[dict]) -> tuple[dict, dict, dict]:
    """Mean, half range and number of seeds of every figure (a benchmark may be run for fewer seeds)."""
    by_name: dict[tuple, list[float]] = {}
    for figures in seed_figures:
        for benchmark, values in figures["benchmarks"].items():
            for name, value in values.items():
                by_name.setdefault((benchmark, name), []).append(value)
    mean, half_range, count = {}, {}, {}
    for (benchmark, name), values in by_name.items():
        mean.setdefault(benchmark, {})[name] = float(np.mean(values))
        half_range.setdefault(benchmark, {})[name] = float((max(values) - min(values)) / 2)
        count.setdefault(benchmark, {})[name] = len(values)
    return mean, half_range, count


def _budget(out_dir: Path) -> dict | None:
    """The training settings every run shares (engine.experiment checks they are the same)."""
    for log in sorted((Path(out_dir) / "runs").glob("*/train/training_log.json")):
        config = read_result(log, ("config",))["config"]
        return {key: config[key] for key in ("base_model", "steps", "batch_size", "alpha", "learning_rate",
                                             "weight_decay", "warmup_ratio", "temperature", "max_query_length",
                                             "max_passage_length", "freeze_embeddings", "validate_every",
                                             "patience")}
    return None


# (column label, benchmark, figure) of the headline table.
HEADLINE = (
    ("XQuAD-R mAP mono", "xquad-r", "mono/map"), ("cross", "xquad-r", "cross/map"),
    ("multi", "xquad-r", "multi/map"), ("rank dist.", "xquad-r", "multi/rank_distance"),
    ("MLQA-R mAP mono", "mlqa-r", "mono/map"), ("cross", "mlqa-r", "cross/map"), ("multi", "mlqa-r", "multi/map"),
    ("rank dist.", "mlqa-r", "multi/rank_distance"),
    ("MIRACL yo nDCG@10", "miracl", "mono/ndcg@10"), ("R@100", "miracl", "mono/recall@100"),
    ("MIRACL-subset nDCG@10", "miracl-subset", "mono/ndcg@10"), ("R@100", "miracl-subset", "mono/recall@100"),
    ("FLORES bitext mAP", "flores200", "cross/map"),
)
SWEEP = (*HEADLINE[:4], HEADLINE[-1], ("FLORES yo", "flores200", "cross/yo/map"))
LONG_TAIL = (*((f"MIRACL-subset {lang}", "miracl-subset", f"mono/{lang}/ndcg@10") for lang in LONG_TAIL_MIRACL),
             *((f"XQuAD-R cross {lang}", "xquad-r", f"cross/{lang}/map") for lang in LONG_TAIL_XQUAD),
             *((f"MLQA-R cross {lang}", "mlqa-r", f"cross/{lang}/map") for lang in LONG_TAIL_MLQA),
             *((f"FLORES {lang}", "flores200", f"cross/{lang}/map") for lang in LONG_TAIL_MIRACL))


def markdown(results: dict) -> str:
    configs = results["configurations"]
    lines = ["# Batching experiment", "", f"Evaluated on: {'; '.join(results['machines']) or 'no report yet'}.", ""]
    if results["budget"]:
        lines += ["Budget (every configuration): " + ", ".join(f"{key} {value}" for key, value in
                                                              results["budget"].items()), ""]
    lines += [f"Every model evaluated as its {results['eval_variant']} bundle. "
              "Several seeds: mean ± half the range over seeds; `(1 seed)`: a benchmark run for fewer "
              "of the configuration's seeds.", ""]
    mixed = _mixed_formats(configs)
    if mixed:
        lines += ["**Not every model was quantised the same way**, so differences between these groups "
                  "include the format's: " + "; ".join(f"{fmt}: {', '.join(names)}" for fmt, names in mixed.items()),
                  ""]
    trained_again = [name for name, config in configs.items()
                     if any(run.get("trained_again") for run in config["seeds"].values())]
    if trained_again:
        lines += ["**Trained again after their evaluations** (for a merge's weights, with the same seed and budget): "
                  f"{', '.join(trained_again)}. Their reports made before that are of the first training's bundle "
                  "(each report names its weights' fingerprint), their parity figures of the second's.", ""]
    lines += ["## Headline figures", "", *_table(configs, HEADLINE, with_runs=results["eval_variant"]), ""]
    if "base" in configs:
        lines += ["## Difference to the base model", "", *_table(configs, HEADLINE, against=configs["base"]), ""]
    paths = merge_paths(configs)
    if paths:
        lines += ["## Merge sweep ((1 - R) base + R fine-tuned; R 0 is the base model, 1 the run itself)", ""]
        for tuned, path in paths.items():
            lines += [*_table({f"{tuned} R={ratio:g}": configs[name] for ratio, name in path}, SWEEP), ""]
    lines += ["## Long-tail languages (MIRACL-subset nDCG@10; XQuAD-R and MLQA-R cross-lingual mAP by "
              "query language)", "",
              *_table(configs, LONG_TAIL), ""]
    return "\n".join(lines)


def _table(configs: dict, columns, with_runs: str | None = None, against: dict | None = None) -> list[str]:
    """One row per configuration; `with_runs` (the evaluated variant) adds training time and parity."""
    present = [column for column in columns
               if any(column[2] in config["mean"].get(column[1], {}) for config in configs.values())]
    header = ["configuration", "seeds", *(label for label, _, _ in present)]
    if with_runs:
        header += ["train min / run", f"{with_runs} parity"]
    rows = [header, ["---"] * len(header)]
    for name, config in configs.items():
        if against is not None and config is against:
            continue
        row = [name, str(len(config["seeds"]))]
        for _, benchmark, figure in present:
            row.append(_cell(config, benchmark, figure, against))
        if with_runs:
            runs = config["seeds"].values()
            minutes = [run["training"]["wall_s"] / 60 for run in runs if (run.get("training") or {}).get("wall_s")]
            parity = [run["parity_mean_cosine"] for run in runs if run.get("parity_mean_cosine")]
            row += [f"{np.mean(minutes):.1f}" if minutes else "-", f"{np.mean(parity):.4f}" if parity else "-"]
        rows.append(row)
    return ["| " + " | ".join(row) + " |" for row in rows]


def _cell(config: dict, benchmark: str, figure: str, against: dict | None) -> str:
    value = config["mean"].get(benchmark, {}).get(figure)
    if value is None:
        return "-"
    digits = 1 if "rank_distance" in figure else 3
    if against is not None:
        base = against["mean"].get(benchmark, {}).get(figure)
        return "-" if base is None else f"{value - base:+.{digits}f}"
    seeds = config["seed_count"][benchmark][figure]
    if seeds < len(config["seeds"]):
        return f"{value:.{digits}f} ({seeds} seed{'s' if seeds > 1 else ''})"
    spread = config["half_range"][benchmark][figure]
    return f"{value:.{digits}f}" + (f" ±{spread:.{digits}f}" if seeds > 1 else "")
