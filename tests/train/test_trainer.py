import json
import math

import pytest
import torch

from engine.errors import EngineError
from export.parity_texts import PASSAGES, QUERIES
from train.pairs import Pair, PairGroup, write_pair_groups
from train.trainer import CHECKPOINT_DIR, CURVE_FILE, LOG_FILE, TRAINER_STATE_FILE, TrainConfig, train


@pytest.fixture
def pairs_file(tmp_path):
    """Eight groups, each in English and German, the first four with a hard negative."""
    groups = [PairGroup(f"g{n}", {
        "en": Pair(QUERIES[n], PASSAGES[n], (PASSAGES[n + 30],) if n < 4 else ()),
        "de": Pair(QUERIES[n + 8], PASSAGES[n + 8]),
    }) for n in range(8)]
    path = tmp_path / "pairs.jsonl"
    write_pair_groups(path, groups)
    return path


def _config(tiny_model_dir, pairs_file, out_dir, **overrides):
    settings = dict(data=pairs_file, out_dir=out_dir, base_model=str(tiny_model_dir), batch_size=4, steps=4,
                    validation_fraction=0.25, validate_every=2, checkpoint_every=2, quiet=True)
    return TrainConfig(**{**settings, **overrides})


def _log(out_dir):
    return json.loads((out_dir / LOG_FILE).read_text(encoding="utf-8"))


def test_short_run_writes_a_model_the_exporter_takes(tiny_model_dir, pairs_file, tmp_path):
    from transformers import AutoModel

    from export.bundle_writer import export_bundle

    result = train(_config(tiny_model_dir, pairs_file, tmp_path / "run"))
    assert result.steps_done == 4
    log = _log(tmp_path / "run")
    assert [entry["step"] for entry in log["train"]] == [1, 2, 3, 4]
    assert all(math.isfinite(entry["loss"]) for entry in log["train"] + log["validation"])
    assert [entry["step"] for entry in log["validation"]] == [2, 4]
    assert result.best_validation_loss == min(entry["loss"] for entry in log["validation"])
    assert (tmp_path / "run" / CURVE_FILE).stat().st_size > 0
    AutoModel.from_pretrained(result.model_dir)
    AutoModel.from_pretrained(tmp_path / "run" / CHECKPOINT_DIR)
    bundle = export_bundle(result.model_dir, tmp_path / "bundle", quantize=(), quiet=True)
    assert (bundle / "model.onnx").is_file()


def test_loss_goes_down_on_a_repeated_batch(tiny_model_dir, pairs_file, tmp_path):
    # One language and batch size = number of groups: every step sees the same eight pairs.
    train(_config(tiny_model_dir, pairs_file, tmp_path / "run", batching="x-x-mono", batch_size=8, steps=5,
                  validation_fraction=0.0, learning_rate=1e-3, warmup_ratio=0.0, max_grad_norm=10.0))
    losses = [entry["loss"] for entry in _log(tmp_path / "run")["train"]]
    assert losses[-1] < losses[0]


def test_resume_continues_from_the_saved_step(tiny_model_dir, pairs_file, tmp_path):
    out = tmp_path / "run"
    train(_config(tiny_model_dir, pairs_file, out, steps=2))
    first = _log(out)["train"]
    result = train(_config(tiny_model_dir, pairs_file, out, steps=4, resume=True))
    assert result.steps_done == 4
    resumed = _log(out)["train"]
    assert resumed[:2] == first and [entry["step"] for entry in resumed] == [1, 2, 3, 4]
    assert torch.load(out / CHECKPOINT_DIR / TRAINER_STATE_FILE, weights_only=False)["progress"]["step"] == 4
    with pytest.raises(EngineError, match="cannot resume"):
        train(_config(tiny_model_dir, pairs_file, tmp_path / "elsewhere", resume=True))


def test_frozen_word_embeddings_stay_unchanged(tiny_model_dir, pairs_file, tmp_path):
    from transformers import AutoModel

    result = train(_config(tiny_model_dir, pairs_file, tmp_path / "run", steps=2, validation_fraction=0.0,
                           freeze_embeddings=True, learning_rate=1e-3, warmup_ratio=0.0))
    before, after = AutoModel.from_pretrained(tiny_model_dir), AutoModel.from_pretrained(result.model_dir)
    assert torch.equal(before.embeddings.word_embeddings.weight, after.embeddings.word_embeddings.weight)
    assert not torch.equal(before.encoder.layer[0].attention.self.query.weight,
                           after.encoder.layer[0].attention.self.query.weight)


@pytest.mark.parametrize("overrides, message", [
    ({"steps": 0}, "steps must be at least 1"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"temperature": 0.0}, "temperature must be positive"),
    ({"batch_size": 9, "validation_fraction": 0.0}, "larger than the number of groups"),
])
def test_bad_settings(tiny_model_dir, pairs_file, tmp_path, overrides, message):
    with pytest.raises(EngineError, match=message):
        train(_config(tiny_model_dir, pairs_file, tmp_path / "run", **overrides))
