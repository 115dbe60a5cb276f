"""Turn pytest-benchmark JSON runs into a markdown report of ratios (engine ÷ peer) and PNG plots.

  python -m benchmarks.report RUN.json [MORE.json ...] --out DIR

Reads the extra_info keys every comparison suite records: `system` ("engine" or a peer), `unit`,
`items_per_call`, and where measured `recall@10`, `rss_mb`, `index_bytes`, `bytes_per_vector`,
`p50_ms`/`p99_ms`, `target_recall`, `dimension`. Writes DIR/report.md with one table per group
(the engine's ratio to each peer in that group), the issue's targets met or not, a latency
histogram per single-query group (from per-call timings: run pytest with --benchmark-save-data)
and a recall-against-throughput plot per collection searched at several recall targets.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.encoder_report import format_time

ENGINE = "engine"


@dataclass
class Row:
    """One benchmark of one system in one group."""

    group: str
    system: str
    unit: str
    items_per_call: int
    median_s: float
    extra: dict
    timings_s: list[float] = field(default_factory=list)  # per call, when the run saved them

    @property
    def throughput(self) -> float:
        return self.items_per_call / self.median_s

    @property
    def p50_s(self) -> float:
        if "p50_ms" in self.extra:
            return self.extra["p50_ms"] / 1e3
        return float(np.percentile(self.timings_s, 50)) if self.timings_s else self.median_s

    @property
    def p99_s(self) -> float | None:
        if "p99_ms" in self.extra:
            return self.extra["p99_ms"] / 1e3
        return float(np.percentile(self.timings_s, 99)) if self.timings_s else None


class ReportError(Exception):
    pass


def load_rows(paths: list[Path]) -> tuple[list[Row], dict]:
    """Every comparison benchmark of the runs (those that name their system), and the first run's machine."""
    rows, machine = [], {}
    for path in paths:
        try:
            run = json.loads(Path(path).read_text(encoding="utf-8"))
            records = run["benchmarks"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ReportError(f"{path} is not a pytest-benchmark JSON run ({type(err).__name__}: {err})") from None
        machine = machine or run.get("machine_info", {})
        for record in records:
            extra = record.get("extra_info", {})
            if "system" not in extra:
                continue  # a suite without peers (kernels, encoders: benchmarks.encoder_report)
            try:
                rows.append(Row(record["group"], extra["system"], extra["unit"], int(extra["items_per_call"]),
                                float(record["stats"]["median"]), extra, list(record["stats"].get("data", []))))
            except KeyError as err:
                raise ReportError(f"{path}: benchmark {record.get('name')!r} lacks {err.args[0]!r}") from None
    if not rows:
        raise ReportError("no benchmark in these runs records a `system` in extra_info: nothing to compare")
    return rows, machine


def by_group(rows: list[Row]) -> dict[str, dict[str, Row]]:
    groups: dict[str, dict[str, Row]] = {}
    for row in rows:
        groups.setdefault(row.group, {})[row.system] = row
    return groups


def group_table(systems: dict[str, Row]) -> list[str]:
    engine = systems.get(ENGINE)
    lines = ["| system | per call (median) | p50 / p99 | throughput | engine ÷ this (time) | recall@10 | RSS MB "
             "| index on disk | bytes / vector |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in sorted(systems.items(), key=lambda item: item[0] != ENGINE):
        p99 = row.p99_s
        ratio = f"{engine.median_s / row.median_s:.2f}x" if engine and row is not engine else "-"
        lines.append(" | ".join([
            f"| {name}", format_time(row.median_s),
            f"{format_time(row.p50_s)} / {format_time(p99)}" if p99 is not None else format_time(row.p50_s),
            f"{row.throughput:,.1f} {row.unit}/s", ratio, _number(row.extra.get("recall@10"), "{:.4f}"),
            _number(row.extra.get("rss_mb"), "{:,.0f}"), _size(row.extra.get("index_bytes")),
            _number(row.extra.get("bytes_per_vector"), "{:,.0f}")]) + " |")
    return lines


@dataclass
class Target:
    description: str
    measured: float | None
    limit: float
    at_most: bool  # True: measured must be <= limit; False: >= limit
    group: str
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit


def targets(groups: dict[str, dict[str, Row]]) -> list[Target]:
    """The issue's targets, checked in every group that holds the systems they compare, and at equal
    recall in every collection searched at several recall targets."""
    found = []
    for group, systems in groups.items():
        engine = systems.get(ENGINE)
        if engine is None:
            continue
        peer = systems.get("st-faiss") if engine.unit == "queries" else None
        if peer is not None and engine.items_per_call == 1:
            found.append(Target("single-query p50, engine ÷ sentence-transformers + faiss", engine.p50_s / peer.p50_s,
                                0.5, True, group))
        elif peer is not None:
            found.append(Target(f"batch-{engine.items_per_call} throughput, engine ÷ sentence-transformers + faiss",
                                engine.throughput / peer.throughput, 2.0, False, group))
        raw = systems.get("hnswlib-raw")
        if raw is not None and engine.unit == "vectors" and "bytes_per_vector" in raw.extra \
                and all(key in engine.extra for key in ("bytes_per_vector", "dimension")):
            stored = 4 * engine.extra["dimension"]  # the float32 copy kept for exact re-scoring
            found.append(Target("memory per vector, engine ÷ (raw hnswlib + stored float32 vectors)",
                                engine.extra["bytes_per_vector"] / (raw.extra["bytes_per_vector"] + stored),
                                1.10, True, group))
    rows = [row for systems in groups.values() for row in systems.values()]
    for collection, members in recall_collections(rows).items():
        found += equal_recall_targets(collection, members)
    return found


# The search-layer targets compare systems at this recall@10.
TARGET_RECALL = 0.95


def recall_collections(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows of search benchmarks timed at several recall targets, by collection (group name less the target)."""
    collections: dict[str, list[Row]] = {}
    for row in rows:
        if row.extra.get("target_recall") is not None and "recall@10" in row.extra:
            collections.setdefault(re.sub(r"\s*recall\S*", "", row.group), []).append(row)
    return collections


def time_at_recall(points: list[tuple[float, float]], recall: float) -> float | None:
    """Seconds per query at `recall`, linear between the two measured (recall, seconds) points around
    it; the lowest-recall point's time when every point is above it (an upper bound: `equal_recall_targets`
    says so in its note); None when none reach it."""
    points = sorted(points)
    if not points or points[-1][0] < recall:
        return None
    if points[0][0] >= recall:
        return points[0][1]
    for (low_recall, low_time), (high_recall, high_time) in zip(points, points[1:]):
        if low_recall < recall <= high_recall:
            return low_time + (recall - low_recall) / (high_recall - low_recall) * (high_time - low_time)
    return None


def equal_recall_targets(collection: str, members: list[Row]) -> list[Target]:
    """Engine against raw hnswlib and faiss HNSW at recall@10 = TARGET_RECALL. Each system's ef is
    calibrated on other queries up a coarse ef ladder, and each builds its own graph, so at one
    calibration target the systems can land at quite different recall; comparing each system's time
    interpolated to the same recall takes that out."""
    times, bounds = {}, []
    for system in sorted({row.system for row in members}):
        points = [(row.extra["recall@10"], row.median_s / row.items_per_call)
                  for row in members if row.system == system]
        times[system] = time_at_recall(points, TARGET_RECALL)
        if min(recall for recall, _ in points) > TARGET_RECALL:
            bounds.append(system)
    found = []
    for peer, label, limit in (("hnswlib-raw", "raw hnswlib", 1.10), ("faiss-hnsw", "faiss HNSW", 1.0)):
        if ENGINE not in times or peer not in times:
            continue
        ours, theirs = times[ENGINE], times[peer]
        measured = ours / theirs if ours is not None and theirs is not None else None
        note = f"per query: engine {_microseconds(ours)}, {peer} {_microseconds(theirs)}"
        note += "".join(f"; {system}: an upper bound (its lowest timed recall is above {TARGET_RECALL})"
                        for system in bounds if system in (ENGINE, peer))
        found.append(Target(f"search layer at recall@10 = {TARGET_RECALL} (interpolated), time engine ÷ {label}",
                            measured, limit, True, collection, note))
    return found


def target_lines(found: list[Target]) -> list[str]:
    lines = ["| target | group | measured | limit | met | note |", "|---|---|---|---|---|---|"]
    for target in found:
        sign = "≤" if target.at_most else "≥"
        verdict = {True: "yes", False: "**no**", None: "not measured"}[target.met]
        lines.append(f"| {target.description} | {target.group} | {_number(target.measured, '{:.3f}')} "
                     f"| {sign} {target.limit} | {verdict} | {target.note} |")
    return lines


def plot_latency_histograms(groups: dict[str, dict[str, Row]], out_dir: Path) -> list[Path]:
    pyplot = _pyplot()
    written = []
    for group, systems in groups.items():
        timed = {name: row for name, row in systems.items() if row.items_per_call == 1 and row.timings_s}
        if len(timed) < 2:
            continue
        figure, axes = pyplot.subplots(figsize=(7, 4))
        top = max(np.percentile(row.timings_s, 99.5) for row in timed.values()) * 1e3
        bins = np.linspace(0, top, 60)
        for name, row in timed.items():
            axes.hist(np.array(row.timings_s) * 1e3, bins=bins, alpha=0.5, label=name)
        axes.set(xlabel="latency per query (ms)", ylabel="calls", title=group)
        axes.legend()
        written.append(_save(figure, out_dir / f"latency-{_slug(group)}.png", pyplot))
    return written


def plot_recall_throughput(rows: list[Row], out_dir: Path) -> list[Path]:
    """One plot per collection: recall@10 against queries per second, a line per system."""
    pyplot = _pyplot()
    written = []
    for collection, members in recall_collections(rows).items():
        figure, axes = pyplot.subplots(figsize=(6, 4))
        for system in sorted({row.system for row in members}):
            points = sorted((row.extra["recall@10"], row.throughput) for row in members if row.system == system)
            axes.plot(*zip(*points), marker="o", label=system)
        axes.set(xlabel="recall@10", ylabel="queries per second", title=collection)
        axes.legend()
        written.append(_save(figure, out_dir / f"recall-qps-{_slug(collection)}.png", pyplot))
    return written


def write_report(paths: list[Path], out_dir: Path) -> list[Path]:
    rows, machine = load_rows(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = by_group(rows)
    cpu = machine.get("cpu", {}).get("brand_raw") or machine.get("processor") or "unknown CPU"
    lines = ["# Benchmark report", "", f"Runs: {', '.join(Path(path).name for path in paths)}. "
             f"Machine: {cpu}, {machine.get('cpu', {}).get('count', '?')} logical cores "
             f"(each benchmark's thread settings are in its JSON extra_info).", "",
             "## Targets", "", *target_lines(targets(groups)), ""]
    for group, systems in groups.items():
        lines += [f"## {group}", "", *group_table(systems), ""]
    plots = plot_latency_histograms(groups, out_dir) + plot_recall_throughput(rows, out_dir)
    if plots:
        lines += ["## Plots", "", *(f"![{path.stem}]({path.name})" for path in plots), ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return [report, *plots]


def _microseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.1f} µs"


def _number(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _save(figure, path: Path, pyplot) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="pytest-benchmark --benchmark-json files")
    parser.add_argument("--out", required=True, type=Path, help="dir for report.md and the PNG plots")
    args = parser.parse_args(argv)
    try:
        for path in write_report(args.runs, args.out):
            print(f"wrote {path}")
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
