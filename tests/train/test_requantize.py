import json

import pytest

from engine.errors import EngineError
from export.onnx_export import INT8_FORMAT
from train.requantize import drop_stale_quantisation

OLD = "dynamic int8 (u8 activations, s8 weights), avx2 preset, per-channel"


def write_model(run_dir, quantization, weights=True):
    """A run dir as the experiment leaves it: bundle manifest, one eval report, maybe its weights."""
    (run_dir / "bundle").mkdir(parents=True)
    manifest = {"variants": {"int8": {"quantization": f"{quantization}, recipe all-matmuls"}}}
    (run_dir / "bundle" / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_report(run_dir, quantization)
    if weights:
        (run_dir / "model").mkdir()
        (run_dir / "model" / "config.json").write_text("{}", encoding="utf-8")
    return run_dir / "model"


def write_report(run_dir, quantization, benchmark="xquad-r"):
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    report = {"model": {"variant": "int8", "quantization": f"{quantization}, recipe all-matmuls"}}
    (run_dir / "eval" / f"{benchmark}.json").write_text(json.dumps(report), encoding="utf-8")


@pytest.fixture
def default_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "cache"))
    from engine.paths import default_bundle_dir

    def make(quantization):
        default_bundle_dir().mkdir(parents=True)
        manifest = {"variants": {"int8": {"quantization": f"{quantization}, recipe all-matmuls"}}}
        (default_bundle_dir() / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")
    return make


def test_models_of_an_older_format_lose_bundle_and_evaluations_here_and_in_the_results_dir(tmp_path, default_bundle):
    out, results = tmp_path / "exp", tmp_path / "results"
    default_bundle(INT8_FORMAT)
    write_report(out / "base", OLD)
    stale = write_model(out / "runs" / "hybrid-s0", OLD)
    current = write_model(out / "runs" / "x-x-s0", INT8_FORMAT)
    write_model(results / "runs" / "hybrid-s0", OLD, weights=False)
    said = []

    drop_stale_quantisation(out, {stale.parent: stale, current.parent: current}, ["xquad-r"], True, results,
                            said.append)

    for run_dir in (out / "runs" / "hybrid-s0", results / "runs" / "hybrid-s0"):
        assert not (run_dir / "bundle").exists() and not list((run_dir / "eval").glob("*.json"))
    assert (stale / "config.json").is_file()  # the weights stay: the experiment exports them again
    assert not list((out / "base" / "eval").glob("*.json"))
    assert (out / "runs" / "x-x-s0" / "bundle" / "bundle.json").is_file()
    assert (out / "runs" / "x-x-s0" / "eval" / "xquad-r.json").is_file()
    assert said == ["base: quantised in an older int8 format; exporting and evaluating it again",
                    "hybrid-s0: quantised in an older int8 format; exporting and evaluating it again"]


def test_a_stale_model_without_weights_is_refused_and_nothing_is_removed(tmp_path, default_bundle):
    out = tmp_path / "exp"
    default_bundle(INT8_FORMAT)
    model = write_model(out / "runs" / "hybrid-s0", OLD, weights=False)
    with pytest.raises(EngineError, match="hybrid-s0 was quantised in an older int8 format and its weights"):
        drop_stale_quantisation(out, {model.parent: model}, ["xquad-r"], True, None, print)
    assert (out / "runs" / "hybrid-s0" / "eval" / "xquad-r.json").is_file()


def test_base_evaluations_of_an_older_format_need_the_default_bundle_exported_again(tmp_path, default_bundle):
    out = tmp_path / "exp"
    default_bundle(OLD)
    write_report(out / "base", OLD)
    with pytest.raises(EngineError, match="delete it, run `engine export default` once"):
        drop_stale_quantisation(out, {}, ["xquad-r"], True, None, print)
    assert (out / "base" / "eval" / "xquad-r.json").is_file()


def test_only_stale_reports_of_the_requested_benchmarks_are_dropped(tmp_path, default_bundle):
    out = tmp_path / "exp"
    default_bundle(INT8_FORMAT)
    write_report(out / "base", INT8_FORMAT, "xquad-r")
    write_report(out / "base", OLD, "mlqa-r")
    write_report(out / "base", OLD, "miracl")
    model = write_model(out / "runs" / "hybrid-s0", OLD)
    write_report(out / "runs" / "hybrid-s0", OLD, "mlqa-r")

    drop_stale_quantisation(out, {model.parent: model}, ["xquad-r", "mlqa-r"], True, None, print)

    assert sorted(path.name for path in (out / "base" / "eval").iterdir()) == ["miracl.json", "xquad-r.json"]
    assert not list((out / "runs" / "hybrid-s0" / "eval").iterdir())
    assert not (out / "runs" / "hybrid-s0" / "bundle").exists()


def test_a_stale_report_of_a_benchmark_not_asked_for_leaves_the_model_alone(tmp_path, default_bundle):
    out = tmp_path / "exp"
    default_bundle(INT8_FORMAT)
    model = write_model(out / "runs" / "hybrid-s0", INT8_FORMAT)
    write_report(out / "runs" / "hybrid-s0", OLD, "mlqa-r")
    said = []

    drop_stale_quantisation(out, {model.parent: model}, ["xquad-r"], True, None, said.append)

    assert said == []
    assert (out / "runs" / "hybrid-s0" / "eval" / "mlqa-r.json").is_file()
