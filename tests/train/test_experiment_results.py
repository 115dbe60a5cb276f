import json
import shutil
from dataclasses import replace

import pytest

from engine.errors import EngineError
from tests.train.conftest import tiny_experiment
from train.experiment import run_experiment
from train.experiment_report import collect, write_report
from train.experiment_results import restore_results, result_files, save_results


def test_results_kept_apart_let_a_fresh_dir_continue_without_training_again(experiment_dir, tiny_model_dir,
                                                                            tmp_path):
    results = tmp_path / "results"
    experiment = replace(tiny_experiment(experiment_dir, tiny_model_dir), results_dir=results)
    run_experiment(experiment, log=lambda line: None)
    kept = {str(path) for path in result_files(results)}
    assert {"experiment.json", "base/eval/xquad-r.json", "runs/hybrid-s0/eval/xquad-r.json",
            "runs/hybrid-s0/stages.json", "runs/hybrid-s0/bundle/bundle.json",
            "runs/hybrid-s0/train/training_log.json", "results.json", "results.md"} <= kept
    assert not any(name.endswith((".onnx", ".safetensors")) for name in kept)
    # The tables kept are those of every report so far, even before the command writes them at its end.
    assert json.loads((results / "results.json").read_text()) == json.loads(json.dumps(collect(experiment_dir)))

    fresh = tmp_path / "fresh"
    lines = []
    run_experiment(replace(experiment, out_dir=fresh), log=lines.append)
    assert lines == [f"restored {len(kept)} result files from {results}"]
    assert not (fresh / "runs" / "hybrid-s0" / "train" / "model").exists()
    assert collect(fresh)["configurations"]["hybrid"]["mean"] == collect(experiment_dir)["configurations"][
        "hybrid"]["mean"]


def test_a_restored_run_is_trained_again_when_a_merge_still_needs_its_weights(experiment_dir, tiny_model_dir,
                                                                              tmp_path):
    results = tmp_path / "results"
    experiment = replace(tiny_experiment(experiment_dir, tiny_model_dir), results_dir=results)
    run_experiment(experiment, log=lambda line: None)
    fresh = tmp_path / "fresh"
    shutil.copytree(experiment_dir / "pairs", fresh / "pairs")  # the tiny data dir cannot build them
    lines = []
    run_experiment(replace(experiment, out_dir=fresh, merge_ratios=(0.5,)), log=lines.append)
    assert "hybrid-s0: training again (its weights are not on this machine)" in lines
    assert (results / "runs" / "hybrid+merge0.5-s0" / "eval" / "xquad-r.json").is_file()


def test_restoring_never_replaces_a_file_the_experiment_dir_has(tmp_path):
    results, experiment_dir = tmp_path / "results", tmp_path / "experiment"
    for root, text in ((results, "kept apart"), (experiment_dir, "here")):
        (root / "runs" / "a-s0" / "eval").mkdir(parents=True)
        (root / "runs" / "a-s0" / "eval" / "xquad-r.json").write_text(json.dumps(text))
    (results / "runs" / "a-s0" / "stages.json").write_text("{}")
    assert restore_results(results, experiment_dir) == 1
    assert json.loads((experiment_dir / "runs" / "a-s0" / "eval" / "xquad-r.json").read_text()) == "here"
    assert restore_results(tmp_path / "missing", experiment_dir) == 0
    assert save_results(experiment_dir, results) == 2
    assert json.loads((results / "runs" / "a-s0" / "eval" / "xquad-r.json").read_text()) == "here"


def test_a_damaged_result_file_or_an_unwritable_results_dir_is_one_error(experiment_dir, tiny_model_dir, tmp_path):
    results = tmp_path / "results"
    experiment = replace(tiny_experiment(experiment_dir, tiny_model_dir), results_dir=results)
    run_experiment(experiment, log=lambda line: None)
    report = results / "runs" / "hybrid-s0" / "eval" / "xquad-r.json"
    report.write_text("{")
    fresh = tmp_path / "fresh"
    with pytest.raises(EngineError, match=f"{report.name} is not a readable result file .*delete it"):
        run_experiment(replace(experiment, out_dir=fresh), log=lambda line: None)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(EngineError, match="cannot write the results dir .*a-file/results"):
        run_experiment(replace(experiment, out_dir=tmp_path / "other", results_dir=tmp_path / "a-file" / "results"),
                       log=lambda line: None)
    assert not (tmp_path / "other" / "base").exists()
    with pytest.raises(EngineError, match="cannot write the experiment dir .*a-file"):
        run_experiment(replace(experiment, out_dir=tmp_path / "a-file", results_dir=None), log=lambda line: None)


@pytest.mark.parametrize("name, edit, message", [
    ("experiment.json", lambda settings: {}, "it has no 'eval_variant'"),
    ("runs/hybrid-s0/train/training_log.json", lambda log: [], "a JSON list, not an object"),
    ("runs/hybrid-s0/eval/xquad-r.json", lambda report: {**report, "settings": {"mono": {}}},
     "its settings are not those of an engine eval report: KeyError"),
])
def test_a_hand_edited_result_file_is_named(experiment_dir, tiny_model_dir, name, edit, message):
    experiment = tiny_experiment(experiment_dir, tiny_model_dir)
    run_experiment(experiment, log=lambda line: None)
    path = experiment_dir / name
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(EngineError, match=f"{name} is not a readable result file \\({message}.*delete it"):
        run_experiment(experiment, log=lambda line: None)
        write_report(experiment_dir)
