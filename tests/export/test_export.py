import json
import shutil

import numpy as np
import pytest

pytest.importorskip("optimum.onnxruntime")
torch = pytest.importorskip("torch")

from engine.bundle import REQUIRED_FIELDS, load_bundle, read_manifest  # noqa: E402
from engine.encoder import Encoder  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.hashing import sha256_file  # noqa: E402
from export import bundle_writer, default_bundle, onnx_export, parity  # noqa: E402
from export.bundle_writer import export_bundle  # noqa: E402
from export.fingerprint import weights_fingerprint  # noqa: E402
from export.parity import format_parity_report  # noqa: E402
from export.parity_texts import PASSAGES, QUERIES  # noqa: E402

TEXTS = QUERIES[:6] + PASSAGES[:6]


@pytest.fixture(scope="module")
def full_bundle(tiny_model_dir, tmp_path_factory):
    return export_bundle(tiny_model_dir, tmp_path_factory.mktemp("export") / "bundle", quantize=("int8", "fp16"),
                         quiet=True)


def test_bundle_has_every_file_listed_with_its_checksum(full_bundle, tiny_model_dir):
    manifest = read_manifest(full_bundle)
    assert set(REQUIRED_FIELDS) <= set(manifest)
    assert sorted(path.name for path in full_bundle.iterdir()) == [
        "bundle.json", "model.fp16.onnx", "model.int8.onnx", "model.onnx", "tokenizer.json"]
    listed = [manifest["tokenizer"]] + list(manifest["variants"].values())
    for entry in listed:
        assert sha256_file(full_bundle / entry["file"]) == entry["sha256"]
    assert manifest["fingerprint"] == weights_fingerprint(tiny_model_dir)
    assert manifest["source_model"] == str(tiny_model_dir.resolve())


def test_manifest_carries_the_model_settings(full_bundle):
    manifest = read_manifest(full_bundle)
    assert (manifest["dimension"], manifest["pooling"], manifest["normalize"], manifest["max_length"]) == (
        32, "mean", True, 64)
    assert (manifest["query_prefix"], manifest["passage_prefix"]) == ("query: ", "passage: ")
    assert "torch" in manifest["created_with"] and "onnxruntime" in manifest["created_with"]


def test_variants_are_described(full_bundle):
    variants = read_manifest(full_bundle)["variants"]
    assert variants["fp32"]["quantization"].startswith("fp32")
    assert "int8" in variants["int8"]["quantization"]
    assert "s8 weights in 7 bits" in variants["int8"]["quantization"]
    assert variants["fp16"]["quantization"].startswith("fp16")


def test_int8_weights_are_signed_and_7_bit_on_every_cpu(full_bundle):
    # Full 8-bit signed weights saturate ORT's u8 x s8 kernels on CPUs without VNNI; 7 bits never do.
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(full_bundle / "model.int8.onnx").graph
    consumed = {name for node in graph.node if node.op_type == "MatMulInteger" for name in node.input[1:2]}
    weights = [numpy_helper.to_array(init) for init in graph.initializer if init.name in consumed]
    assert weights and all(weight.dtype == np.int8 for weight in weights)
    assert max(int(np.abs(weight.astype(np.int16)).max()) for weight in weights) <= 64


def test_parity_is_reported_for_every_variant(full_bundle):
    manifest = read_manifest(full_bundle)
    assert set(manifest["parity"]) == {"fp32", "int8", "fp16"}
    for figures in manifest["parity"].values():
        assert 0.9 < figures["min_cosine"] <= figures["mean_cosine"] <= 1.0 + 1e-6
        assert 0.0 <= figures["top10_overlap"] <= 1.0
    assert manifest["parity"]["fp32"]["min_cosine"] > 0.99999
    report = format_parity_report(manifest)
    assert all(variant in report for variant in ("fp32", "int8", "fp16"))


def test_parity_report_without_figures():
    assert format_parity_report({"variants": {}}) == "no parity report in this bundle"


def torch_embeddings(model_dir, texts, prefix):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir).eval()
    batch = AutoTokenizer.from_pretrained(model_dir)([prefix + text for text in texts], padding=True,
                                                     truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_fp32_graph_matches_torch(full_bundle, tiny_model_dir):
    encoder = Encoder(load_bundle(full_bundle), variant="fp32", device="cpu")
    np.testing.assert_allclose(encoder.encode_queries(TEXTS), torch_embeddings(tiny_model_dir, TEXTS, "query: "),
                               atol=1e-4)


def test_graph_outputs_token_states(full_bundle):
    import onnxruntime as ort

    for name in ("model.onnx", "model.int8.onnx", "model.fp16.onnx"):
        session = ort.InferenceSession(str(full_bundle / name), providers=["CPUExecutionProvider"])
        assert [output.name for output in session.get_outputs()] == ["last_hidden_state"]


def test_fp32_only_export(tiny_model_dir, tmp_path):
    bundle = export_bundle(tiny_model_dir, tmp_path / "bundle", quantize=(), quiet=True)
    manifest = read_manifest(bundle)
    assert list(manifest["variants"]) == ["fp32"]
    assert list(manifest["parity"]) == ["fp32"]


def test_int8_below_threshold_fails_unless_forced(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(parity, "INT8_MIN_MEAN_COSINE", 1.01)
    with pytest.raises(EngineError, match="int8 variant's mean cosine"):
        export_bundle(tiny_model_dir, tmp_path / "bundle", quiet=True)
    assert not (tmp_path / "bundle").exists()
    bundle = export_bundle(tiny_model_dir, tmp_path / "bundle", force=True, quiet=True)
    manifest = read_manifest(bundle)
    assert manifest["parity"]["int8"]["mean_cosine"] < 1.01
    # every recipe was tried, the last one kept
    assert list(manifest["variants"]["int8"]["recipes_tried"]) == [recipe.name for recipe in onnx_export.INT8_RECIPES]
    assert manifest["variants"]["int8"]["recipe"] == onnx_export.INT8_RECIPES[-1].name


def test_int8_recipes_stop_at_the_first_that_passes(tiny_model_dir, tmp_path, monkeypatch):
    # The gate sits between the tiny model's full-int8 parity and its parity with the feed-forward
    # output projections kept in fp32, so the export must take the second recipe.
    tried = []
    real = parity.int8_passes

    def passes_from_the_second_recipe(report):
        tried.append(report["int8"]["mean_cosine"])
        return len(tried) > 1 and real(report)

    monkeypatch.setattr(bundle_writer, "int8_passes", passes_from_the_second_recipe)
    manifest = read_manifest(export_bundle(tiny_model_dir, tmp_path / "bundle", quiet=True))
    int8 = manifest["variants"]["int8"]
    assert int8["recipe"] == "ffn-output-fp32" and list(int8["recipes_tried"]) == ["all-matmuls", "ffn-output-fp32"]
    assert "2 MatMuls kept fp32 (ffn-output)" in int8["quantization"]  # the tiny BERT has 2 layers
    assert int8["recipes_tried"]["ffn-output-fp32"] == manifest["parity"]["int8"]["mean_cosine"]
    assert "int8 recipes tried (mean cos): all-matmuls " in format_parity_report(manifest)


@pytest.mark.filterwarnings("ignore")  # the bare export step, outside export_bundle's silencing
def test_recipes_pick_the_matmuls_they_name(full_bundle, tiny_model_dir, tmp_path):
    exported = onnx_export.export_onnx(tiny_model_dir, tmp_path)
    kept = onnx_export.matmuls_kept_fp32(exported, onnx_export.INT8_RECIPES[2])
    assert sorted(kept) == ["/encoder/layer.0/attention/self/value/MatMul", "/encoder/layer.0/output/dense/MatMul",
                            "/encoder/layer.1/attention/self/value/MatMul", "/encoder/layer.1/output/dense/MatMul"]
    assert onnx_export.matmuls_kept_fp32(exported, onnx_export.INT8_RECIPES[0]) == []


def test_export_prints_steps_and_report_unless_quiet(tiny_model_dir, tmp_path, capsys):
    export_bundle(tiny_model_dir, tmp_path / "bundle", quantize=(), quiet=False)
    err = capsys.readouterr().err
    assert "ONNX export" in err and "parity with the fp32 torch model" in err
    export_bundle(tiny_model_dir, tmp_path / "bundle", quantize=(), quiet=True)
    assert capsys.readouterr() == ("", "")


def make_model_copy(source, target, skip=()):
    shutil.copytree(source, target, ignore=lambda _dir, names: [name for name in names if name in skip])
    return target


def test_not_a_model_dir(tmp_path):
    with pytest.raises(EngineError, match="no config.json"):
        export_bundle(tmp_path, tmp_path / "bundle", quiet=True)


def test_missing_tokenizer(tiny_model_dir, tmp_path):
    model = make_model_copy(tiny_model_dir, tmp_path / "model", skip={"tokenizer.json", "tokenizer_config.json"})
    with pytest.raises(EngineError, match="has no tokenizer"):
        export_bundle(model, tmp_path / "bundle", quiet=True)


def test_architecture_optimum_cannot_export(tiny_model_dir, tmp_path):
    model = make_model_copy(tiny_model_dir, tmp_path / "model")
    (model / "config.json").write_text(json.dumps({"model_type": "funnel"}))
    with pytest.raises(EngineError, match="'funnel' cannot be exported to ONNX"):
        export_bundle(model, tmp_path / "bundle", quiet=True)


def test_unknown_quantization(tiny_model_dir, tmp_path):
    with pytest.raises(EngineError, match="unknown quantization int4"):
        export_bundle(tiny_model_dir, tmp_path / "bundle", quantize=("int4",), quiet=True)


def test_failed_export_keeps_the_existing_bundle(tiny_model_dir, tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "bundle.json").write_text("previous")

    def broken(*args):
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(bundle_writer, "quantize_int8", broken)
    with pytest.raises(RuntimeError, match="quantizer crashed"):
        export_bundle(tiny_model_dir, out, quiet=True)
    assert [path.name for path in tmp_path.iterdir()] == ["bundle"]
    assert [path.name for path in out.iterdir()] == ["bundle.json"]
    assert (out / "bundle.json").read_text() == "previous"


def test_successful_export_replaces_the_existing_bundle(tiny_model_dir, tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.onnx").write_text("old")
    export_bundle(tiny_model_dir, out, quantize=(), quiet=True)
    assert not (out / "stale.onnx").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["bundle"]


@pytest.mark.filterwarnings("ignore")  # the bare export step, outside export_bundle's silencing
def test_model_types_without_ort_fusions_still_export(tiny_model_dir, tmp_path, monkeypatch):
    import onnxruntime as ort

    def unsupported(*args):
        raise NotImplementedError("no fusions")

    monkeypatch.setattr(onnx_export, "_optimize", unsupported)
    exported = onnx_export.export_onnx(tiny_model_dir, tmp_path)
    assert onnx_export.optimize_fp32(exported, tmp_path).path == exported
    fp16 = onnx_export.convert_fp16(exported, tmp_path)
    ids = np.array([[2, 10, 11, 3]])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    run = lambda path: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0]  # noqa: E731
    np.testing.assert_allclose(run(fp16.path), run(exported), atol=1e-2)


def test_default_bundle_is_made_once(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(default_bundle, "resolve_base_model", lambda name, quiet: tiny_model_dir)
    first = default_bundle.make_default_bundle(quiet=True)
    manifest = read_manifest(first)
    assert list(manifest["variants"]) == ["fp32", "int8"]
    assert manifest["source_model"] == default_bundle.SOURCE_MODEL

    def must_not_run(*args, **kwargs):
        raise AssertionError("exported twice")

    monkeypatch.setattr(default_bundle, "export_bundle", must_not_run)
    assert default_bundle.make_default_bundle(quiet=True) == first


@pytest.mark.model
def test_real_default_bundle_meets_the_int8_threshold():
    manifest = read_manifest(default_bundle.make_default_bundle(quiet=True))
    assert manifest["dimension"] == 384
    assert manifest["parity"]["fp32"]["min_cosine"] > 0.9999
    assert manifest["parity"]["int8"]["mean_cosine"] >= parity.INT8_MIN_MEAN_COSINE
