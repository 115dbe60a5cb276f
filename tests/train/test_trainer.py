import json
import math

import pytest
import torch

from engine.errors import EngineError
from export.parity_texts import PASSAGES, QUERIES
from train.pairs import Pair, PairGroup, write_pair_groups
from train.trainer import CHECKPOINT_DIR, CURVE_FILE, LOG_FILE, TRAINER_STATE_FILE, TrainConfig, train


def write_pairs(directory):
    """Eight groups, each in English and German, the first four with a hard negative."""
    groups = [PairGroup(f"g{n}", {
        "en": Pair(QUERIES[n], PASSAGES[n], (PASSAGES[n + 30],) if n < 4 else ()),
        "de": Pair(QUERIES[n + 8], PASSAGES[n + 8]),
    }) for n in range(8)]
    path = directory / "pairs.jsonl"
    write_pair_groups(path, groups)
    return path


@pytest.fixture
def pairs_file(tmp_path):
    return write_pairs(tmp_path)


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


def test_frozen_lower_layers_stay_unchanged_and_run_without_dropout(tiny_model_dir, pairs_file, tmp_path):
    from transformers import AutoModel

    from train.dual_encoder import DualEncoder

    result = train(_config(tiny_model_dir, pairs_file, tmp_path / "run", steps=2, validation_fraction=0.0,
                           freeze_layers=1, learning_rate=1e-3, warmup_ratio=0.0))
    before, after = AutoModel.from_pretrained(tiny_model_dir), AutoModel.from_pretrained(result.model_dir)
    for name, weight in before.state_dict().items():
        trained = not name.startswith(("embeddings.", "encoder.layer.0.")) and "pooler" not in name
        assert torch.equal(weight, after.state_dict()[name]) != trained, name

    encoder = DualEncoder(tiny_model_dir, 16, 16)
    encoder.freeze_lower_layers(1)
    encoder.train()
    assert not encoder.model.encoder.layer[0].training and encoder.model.encoder.layer[1].training
    assert not any(parameter.requires_grad for parameter in encoder.model.embeddings.parameters())


@pytest.mark.parametrize("count", [-1, 2])
def test_freezing_more_layers_than_can_be_trained_is_refused(tiny_model_dir, pairs_file, tmp_path, count):
    with pytest.raises(EngineError, match=f"freeze layers must be between 0 and 1 \\(the model has 2 layers\\), got {count}"):
        train(_config(tiny_model_dir, pairs_file, tmp_path / "run", freeze_layers=count))


@pytest.mark.parametrize("overrides, message", [
    ({"steps": 0}, "steps must be at least 1"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"temperature": 0.0}, "temperature must be positive"),
    ({"learning_rate": -1e-5}, "learning rate must be positive, got -1e-05"),
    ({"learning_rate": float("nan")}, "learning rate must be positive, got nan"),
    ({"weight_decay": -0.1}, "weight decay must be 0 or more"),
    ({"warmup_ratio": 1.5}, "warmup ratio must be between 0 and 1"),
    ({"batch_size": 9, "validation_fraction": 0.0}, "larger than the number of groups"),
])
def test_bad_settings(tiny_model_dir, pairs_file, tmp_path, overrides, message):
    with pytest.raises(EngineError, match=message):
        train(_config(tiny_model_dir, pairs_file, tmp_path / "run", **overrides))


@pytest.fixture
def align_file(tmp_path):
    from train.translations import TranslationGroup, write_translation_groups

    path = tmp_path / "align.jsonl"
    write_translation_groups(path, [TranslationGroup(f"t{n}", {"en": PASSAGES[n], "de": PASSAGES[n + 10],
                                                               "sw": PASSAGES[n + 20]}) for n in range(10)])
    return path


def test_anchored_run_logs_every_term_and_starts_at_the_teacher(tiny_model_dir, tiny_bundle, pairs_file, align_file,
                                                                 tmp_path):
    # A learning rate far below float32's resolution of the weights (training refuses 0): the student stays
    # the base model, so in eval mode (validation) its embeddings are the teacher's cached ones, which shows
    # the cache keys, prefixes and truncation match the student's.
    train(_config(tiny_model_dir, pairs_file, tmp_path / "run", learning_rate=1e-20, distill_weight=2.0,
                  align_data=align_file, align_validation_data=align_file, align_batch_size=4,
                  teacher=str(tiny_bundle), max_query_length=16, max_passage_length=24))
    log = _log(tmp_path / "run")
    assert all({"contrastive", "keep", "align"} <= set(entry) for entry in log["train"] + log["validation"])
    for entry in log["train"]:
        assert entry["loss"] == pytest.approx(entry["contrastive"] + 2.0 * (entry["keep"] + entry["align"]), rel=1e-5)
    first = log["validation"][0]
    assert first["keep"] < 1e-6
    assert first["align"] > 1e-3  # a translation is not yet where the teacher put its English source


def test_anchoring_keeps_the_student_nearer_the_teacher(tiny_model_dir, tiny_bundle, pairs_file, tmp_path):
    def drift(**anchoring):
        run = tmp_path / f"run-{len(anchoring)}"
        train(_config(tiny_model_dir, pairs_file, run, steps=6, validation_fraction=0.0, learning_rate=2e-3,
                      warmup_ratio=0.0, teacher=str(tiny_bundle) if anchoring else None, **anchoring))
        from train.dual_encoder import DualEncoder

        student = DualEncoder(run / "model", 64, 64).eval()
        with torch.no_grad():
            tuned = student.encode_passages(PASSAGES[:20])
        base = DualEncoder(tiny_model_dir, 64, 64).eval()
        with torch.no_grad():
            return (2 - 2 * (tuned * base.encode_passages(PASSAGES[:20])).sum(dim=-1)).mean().item()

    assert drift(distill_weight=50.0) < drift()


def test_free_languages_are_left_out_of_the_keep_term(tiny_model_dir, tiny_bundle, pairs_file, tmp_path):
    def keep_terms(free_languages):
        run = tmp_path / "-".join(free_languages)
        train(_config(tiny_model_dir, pairs_file, run, learning_rate=1e-3, distill_weight=2.0,
                      teacher=str(tiny_bundle), free_languages=free_languages))
        log = _log(run)
        return [entry["keep"] for entry in log["train"] + log["validation"]]

    assert all(keep == 0.0 for keep in keep_terms(["en", "de"]))
    assert all(keep > 0.0 for keep in keep_terms(["de"]))  # hybrid batches: every one holds English texts


def test_kept_rows_follow_the_order_of_queries_passages_and_negatives():
    from train.samplers import TrainingPair
    from train.trainer import _kept_rows

    pairs = [TrainingPair("q1", "en", "p1", "yo", ("n1", "n2")), TrainingPair("q2", "yo", "p2", "en", ())]
    assert _kept_rows(pairs, ["yo"]) == [True, False, False, True, False, False]
    assert _kept_rows(pairs, None) == [True] * 6


def test_bad_anchoring_settings(tiny_model_dir, pairs_file, align_file, tmp_path):
    for overrides, message in [
        (dict(distill_weight=-1.0), "distill weight must be 0 or more"),
        (dict(align_data=align_file), "give a distill weight above 0"),
        (dict(distill_weight=1.0, align_validation_data=align_file), "needs alignment data"),
        (dict(free_languages=["de"]), "free languages are left out of the keep term"),
        (dict(distill_weight=1.0, free_languages=["yo"]), "free language 'yo' has no pairs in the training data"),
        (dict(distill_weight=1.0, languages=["de"], free_languages=["en"]),
         "free language 'en' is not among the training languages \\(de\\)"),
    ]:
        with pytest.raises(EngineError, match=message):
            train(_config(tiny_model_dir, pairs_file, tmp_path / "run", **overrides))


def test_resume_with_other_alignment_data_is_refused(tiny_model_dir, tiny_bundle, pairs_file, align_file, tmp_path):
    out = tmp_path / "run"
    anchoring = dict(distill_weight=1.0, teacher=str(tiny_bundle), align_batch_size=4)
    train(_config(tiny_model_dir, pairs_file, out, steps=2, **anchoring))
    with pytest.raises(EngineError, match="cannot resume: the checkpoint was trained without alignment data"):
        train(_config(tiny_model_dir, pairs_file, out, steps=4, resume=True, align_data=align_file, **anchoring))


def test_a_teacher_of_another_model_is_refused(tiny_model_dir, pairs_file, tmp_path):
    from transformers import BertConfig, BertModel

    from export.bundle_writer import export_bundle
    from tests.conftest import build_tiny_model_dir

    other = build_tiny_model_dir(tmp_path / "other")
    config = BertConfig.from_pretrained(other)
    config.hidden_size, config.intermediate_size = 16, 32
    BertModel(config).save_pretrained(other)
    bundle = export_bundle(other, tmp_path / "other-bundle", quantize=(), quiet=True)
    with pytest.raises(EngineError, match="embeds in 16 dimensions but the student in 32"):
        train(_config(tiny_model_dir, pairs_file, tmp_path / "run", distill_weight=1.0, teacher=str(bundle)))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_each_precision_trains_and_is_recorded(tiny_model_dir, pairs_file, tmp_path, monkeypatch, precision):
    # bf16 is forced on here whatever the CPU: the tiny model's loss must fall the same way in both.
    monkeypatch.setattr("train.precision.cpu_has_native_bf16", lambda: True)
    out = tmp_path / precision
    train(_config(tiny_model_dir, pairs_file, out, batching="x-x-mono", batch_size=8, steps=5,
                  validation_fraction=0.0, learning_rate=1e-3, warmup_ratio=0.0, max_grad_norm=10.0,
                  precision=precision))
    log = _log(out)
    assert log["precision"] == precision and log["config"]["precision"] == precision
    losses = [entry["loss"] for entry in log["train"]]
    assert losses[-1] < losses[0]


def test_resume_in_another_precision_is_refused(tiny_model_dir, pairs_file, tmp_path, monkeypatch):
    monkeypatch.setattr("train.precision.cpu_has_native_bf16", lambda: True)
    out = tmp_path / "run"
    train(_config(tiny_model_dir, pairs_file, out, steps=2, precision="fp32"))
    with pytest.raises(EngineError, match="trained in fp32.*pass --precision fp32"):
        train(_config(tiny_model_dir, pairs_file, out, steps=4, precision="bf16", resume=True))
