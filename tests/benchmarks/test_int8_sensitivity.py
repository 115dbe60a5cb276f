import json

import pytest

pytest.importorskip("optimum.onnxruntime")

from benchmarks import int8_sensitivity  # noqa: E402


@pytest.mark.filterwarnings("ignore")  # the bare export step's library warnings
def test_every_kind_and_layer_gets_a_row(tiny_model_dir, tmp_path):
    int8_sensitivity.main([str(tiny_model_dir), "--out", str(tmp_path)])
    results = json.loads((tmp_path / "int8-sensitivity.json").read_text(encoding="utf-8"))
    variants = results["variants"]
    assert variants["all int8"]["kept_fp32"] == 0
    assert variants["ffn output in fp32"]["kept_fp32"] == 2 and variants["layer 1 in fp32"]["kept_fp32"] == 8  # 6 projections, QK and AV
    assert set(variants) == {"all int8", *(f"{kind} in fp32" for kind in int8_sensitivity.KINDS),
                             "layer 0 in fp32", "layer 1 in fp32"}
    assert all(0.5 < row["min_cosine"] <= row["mean_cosine"] <= 1.0 + 1e-6 for row in variants.values())
    assert 0.0 < results["mean_pairwise_cosine"] <= 1.0
