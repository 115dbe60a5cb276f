import json
import shutil

import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.encoder import Encoder, cuda_available
from engine.errors import EngineError

TEXTS = ["Water is life.", "Maji ni uhai na kila kiumbe kinahitaji maji safi kila siku.", "Omi",
         "Das Wasser des Nils fließt nach Norden.", "水是生命之源。"]


@pytest.fixture(scope="module")
def encoder(tiny_bundle):
    return Encoder(tiny_bundle, variant="fp32", device="cpu", batch_size=2)


def test_returns_normalised_float32_rows_in_input_order(encoder):
    vectors = encoder.encode_passages(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), encoder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    one_by_one = np.stack([encoder.encode_passages([text])[0] for text in TEXTS])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)


def test_query_and_passage_prefixes_come_from_the_manifest(encoder):
    assert encoder.bundle.query_prefix == "query: " and encoder.bundle.passage_prefix == "passage: "
    np.testing.assert_allclose(encoder.encode_queries(TEXTS[:1]), encoder.encode(TEXTS[:1], "query: "))
    assert not np.allclose(encoder.encode_queries(TEXTS[:1]), encoder.encode_passages(TEXTS[:1]))


def test_empty_text_gives_a_valid_vector(encoder):
    vector = encoder.encode_queries([""])
    assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-5)
    assert encoder.encode_queries([]).shape == (0, encoder.dimension)


def test_text_longer_than_the_limit_is_truncated(encoder):
    long_text = "water " * (encoder.bundle.max_length * 3)
    encodings = encoder.tokenize([long_text], encoder.bundle.passage_prefix)
    assert len(encodings[0].ids) == encoder.bundle.max_length and encodings[0].overflowing
    np.testing.assert_allclose(encoder.encode_passages([long_text]),
                               encoder.encode_passages([long_text + " and more words at the end"]), atol=1e-6)


def test_int8_variant_is_close_to_fp32(encoder, tiny_bundle):
    int8 = Encoder(tiny_bundle, variant="int8", device="cpu")
    cosines = np.sum(int8.encode_passages(TEXTS) * encoder.encode_passages(TEXTS), axis=1)
    assert cosines.min() > 0.9


def test_cpu_picks_int8_and_thread_settings_do_not_change_results(tiny_bundle, encoder):
    single = Encoder(tiny_bundle, device="cpu", intra_op_threads=1, inter_op_threads=1)
    assert single.variant == "int8" and single.providers == ["CPUExecutionProvider"]
    np.testing.assert_allclose(Encoder(tiny_bundle, variant="fp32", device="cpu", intra_op_threads=1)
                               .encode_passages(TEXTS), encoder.encode_passages(TEXTS), atol=1e-5)


@pytest.mark.skipif(cuda_available(), reason="checks the message shown when CUDA is absent")
def test_cuda_without_provider_is_a_clear_error(tiny_bundle):
    with pytest.raises(EngineError, match="no CUDA provider"):
        Encoder(tiny_bundle, device="cuda")


def test_single_string_is_refused(encoder):
    with pytest.raises(EngineError, match="list of texts"):
        encoder.encode_passages("one text")


def test_unknown_variant(tiny_bundle):
    with pytest.raises(EngineError, match="has no variant 'fp16'"):
        Encoder(tiny_bundle, variant="fp16", device="cpu")


def test_bundle_file_not_matching_its_manifest(tiny_bundle, tmp_path):
    broken = shutil.copytree(tiny_bundle, tmp_path / "broken")
    (broken / "model.onnx").write_bytes((broken / "model.onnx").read_bytes()[:-10])
    with pytest.raises(EngineError, match="model.onnx does not match the checksum"):
        Encoder(broken, variant="fp32")


def test_not_a_bundle(tmp_path):
    with pytest.raises(EngineError, match="is not a model bundle"):
        load_bundle(tmp_path)
    with pytest.raises(EngineError, match="does not exist"):
        load_bundle(tmp_path / "nowhere")


def test_manifest_of_another_format(tiny_bundle, tmp_path):
    other = shutil.copytree(tiny_bundle, tmp_path / "other")
    manifest = json.loads((other / "bundle.json").read_text())
    manifest["format_version"] = 99
    (other / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(EngineError, match="version 99"):
        load_bundle(other)


def test_default_bundle_not_built_names_the_command_that_builds_it(tmp_path, monkeypatch):
    # engine core never builds it (that needs export/): it says which command does.
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(EngineError, match=r"default model bundle is not built yet .*run `engine export default`"):
        Encoder("default")
