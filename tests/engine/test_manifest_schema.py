"""Edited and truncated manifests: each gives one EngineError naming the file and the field."""

import json
import shutil

import pytest

from engine.bundle import load_bundle
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import open_index


def _edit(path, change):
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _set(*keys, value):
    def change(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def _drop(*keys):
    def change(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


@pytest.mark.parametrize("change, message", [
    (_drop("files", "graph.hnsw"), "files.graph.hnsw: missing"),
    (_set("files", value=[]), "files: must be dict, got list"),
    (_drop("files", "vectors.npy", "sha256"), "files.vectors.npy.sha256: missing"),
    (_set("hnsw", "ef_search", value="abc"), "hnsw.ef_search: must be int, got str 'abc'"),
    (_set("hnsw", "ef_search", value=-1), "hnsw.ef_search: must be at least 1, got -1"),
    (_drop("model", "dimension"), "model.dimension: missing"),
    (_set("model", "colour", value="blue"), "model.colour: unknown field"),
    (_set("model", "variant", value="int4"), "model.variant: must be one of 'fp32', 'int8', 'fp16'"),
    (_set("metric", value="l2"), "metric: must be one of 'ip'"),
    (_set("count", value=True), "count: must be int, got bool"),
    (_set("count", value=10_000), "count 10000 exceeds next_label 400"),
    (_set("count", value=399), "says 399 passages, meta.sqlite holds 400"),
])
def test_edited_index_manifest(small_index, change, message):
    index, _, _ = small_index
    _edit(index.path / "manifest.json", change)
    with pytest.raises(EngineError, match="manifest.json|index") as raised:
        open_index(index.path)
    assert message in str(raised.value)


@pytest.mark.parametrize("change, message", [
    (_drop("dimension"), "dimension: missing"),
    (_set("dimension", value="384"), "dimension: must be int, got str"),
    (_set("normalize", value="yes"), "normalize: must be bool"),
    (_set("variants", value={}), "variants: must not be empty"),
    (_drop("variants", "fp32", "sha256"), "variants.fp32.sha256: missing"),
    (_set("tokenizer", "sha256", value="abc"), "tokenizer.sha256: must be 64 lowercase hex digits"),
    (_set("pooling", value="max"), "pooling: must be one of 'mean', 'cls'"),
])
def test_edited_bundle_manifest(tiny_bundle, tmp_path, change, message):
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    _edit(bundle / "bundle.json", change)
    with pytest.raises(EngineError, match="bundle.json") as raised:
        load_bundle(bundle)
    assert message in str(raised.value)


def test_bundle_whose_dimension_or_max_length_disagrees_with_its_graph(tiny_bundle, tmp_path):
    wrong_dimension = shutil.copytree(tiny_bundle, tmp_path / "dimension")
    _edit(wrong_dimension / "bundle.json", _set("dimension", value=48))
    with pytest.raises(EngineError, match="says dimension 48, but its fp32 graph outputs 32"):
        Encoder(wrong_dimension, variant="fp32")
    too_long = shutil.copytree(tiny_bundle, tmp_path / "max-length")
    _edit(too_long / "bundle.json", _set("max_length", value=4096))  # the tiny model has 64 positions
    encoder = Encoder(too_long, variant="fp32")
    with pytest.raises(EngineError, match=r"graph failed on a batch of 1 x \d+ tokens \(is max_length 4096"):
        encoder.encode_passages(["word " * 300])
