import json

import pytest

from benchmarks.report import ReportError, by_group, load_rows, main, targets, time_at_recall, write_report


def _record(group, system, median, items=1, unit="queries", data=None, **extra):
    stats = {"median": median, "mean": median}
    if data is not None:
        stats["data"] = data
    return {"group": group, "name": f"test[{system}]", "stats": stats,
            "extra_info": {"system": system, "unit": unit, "items_per_call": items, **extra}}


def _run(path, records):
    path.write_text(json.dumps({"machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}},
                                "benchmarks": records}), encoding="utf-8")
    return path


@pytest.fixture
def run_file(tmp_path):
    single = [0.002 + 0.0001 * (i % 7) for i in range(100)]
    return _run(tmp_path / "run.json", [
        _record("e2e single", "engine", 0.002, data=single, **{"recall@10": 0.99}),
        _record("e2e single", "st-faiss", 0.008, data=[4 * value for value in single], p50_ms=8.0, p99_ms=9.5),
        _record("e2e batch=64", "engine", 0.064, items=64),
        _record("e2e batch=64", "st-faiss", 0.100, items=64),
        *(_record(f"scale n=1000 recall>={target}", system, median, items=64, target_recall=target,
                  **{"recall@10": target + shortfall, "bytes_per_vector": memory, "dimension": 384})
          for target in (0.9, 0.95, 0.99)
          for system, median, memory, shortfall in (("engine", 0.010 * target, 2100, 0.01),
                                                    ("hnswlib-raw", 0.0095 * target, 300, 0.01),
                                                    ("faiss-hnsw", 0.012 * target, 500, -0.01))),
        *(_record("scale build n=1000", system, seconds, items=1000, unit="vectors", target_recall=None,
                  **{"bytes_per_vector": memory, "dimension": 384})
          for system, seconds, memory in (("engine", 0.5, 2100), ("hnswlib-raw", 0.4, 300))),
        {"group": "kernels", "name": "test_pool", "stats": {"median": 1.0}, "extra_info": {}},
    ])


def test_targets_are_computed_from_the_measured_ratios(run_file):
    rows, _ = load_rows([run_file])
    assert {row.group for row in rows} == {"e2e single", "e2e batch=64", "scale n=1000 recall>=0.9",
                                           "scale n=1000 recall>=0.95", "scale n=1000 recall>=0.99",
                                           "scale build n=1000"}
    assert [target.group for target in targets(by_group(rows)) if target.description.startswith("memory")] == [
        "scale build n=1000"]
    found = {(target.description.split(",")[0], target.group): target for target in targets(by_group(rows))}
    single = found[("single-query p50", "e2e single")]
    assert single.measured == pytest.approx(0.0023 / 0.008) and single.met  # p50 of the saved timings
    batch = found[("batch-64 throughput", "e2e batch=64")]
    assert batch.measured == pytest.approx((64 / 0.064) / (64 / 0.1)) and not batch.met
    layer = [target for target in targets(by_group(rows)) if target.description.startswith("search layer")]
    assert {target.group for target in layer} == {"scale n=1000"}
    # recall 0.95 lies 4/5 of the way from the 0.90 point to the 0.95 point (engine, raw: +0.01; faiss: -0.01
    # puts it 1/4 of the way from the 0.95 point to the 0.99 point); times scale with the target
    engine, raw = 0.010 * (0.90 + 0.8 * 0.05), 0.0095 * (0.90 + 0.8 * 0.05)
    faiss = 0.012 * (0.95 + 0.25 * 0.04)
    assert [round(target.measured, 4) for target in layer] == [round(engine / raw, 4), round(engine / faiss, 4)]
    assert [target.met for target in layer] == [True, True]
    memory = found[("memory per vector", "scale build n=1000")]
    assert memory.measured == pytest.approx(2100 / (300 + 4 * 384)) and memory.met is False


def test_report_writes_tables_and_plots(run_file, tmp_path):
    written = write_report([run_file], tmp_path / "out")
    names = sorted(path.name for path in written)
    assert names == ["latency-e2e-single.png", "recall-qps-scale-n-1000.png", "report.md"]
    assert all(path.stat().st_size > 0 for path in written)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Test CPU, 2 logical cores" in report
    assert "| st-faiss | 8 ms | 8 ms / 9.5 ms | 125.0 queries/s | 0.25x |" in report
    assert "| batch-64 throughput, engine ÷ sentence-transformers + faiss | e2e batch=64 | 1.562 | ≥ 2.0 | **no** |  |" \
        in report


def test_bad_runs_get_one_clear_error(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main([str(broken), "--out", str(tmp_path / "out")]) == 1
    assert "broken.json is not a pytest-benchmark JSON run" in capsys.readouterr().err
    lacking = _run(tmp_path / "lacking.json", [{"group": "g", "name": "t", "stats": {"median": 1.0},
                                                 "extra_info": {"system": "engine", "unit": "queries"}}])
    with pytest.raises(ReportError, match="benchmark 't' lacks 'items_per_call'"):
        load_rows([lacking])
    empty = _run(tmp_path / "empty.json", [])
    with pytest.raises(ReportError, match="nothing to compare"):
        load_rows([empty])


def test_time_at_recall_interpolates_between_the_points_around_it():
    points = [(0.97, 3.0), (0.90, 1.0), (0.94, 2.0)]
    assert time_at_recall(points, 0.95) == pytest.approx(2.0 + 1.0 / 3)  # a third of the way from 0.94 to 0.97
    assert time_at_recall(points, 0.85) == 1.0  # every point above: the fastest one's time, an upper bound
    assert time_at_recall(points, 0.99) is None  # never reached
