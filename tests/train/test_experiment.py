import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from engine.errors import EngineError
from export.parity_texts import PASSAGES
from tests.train.conftest import TINY_BUDGET, tiny_experiment
from train.cli import experiment_command
from train.experiment import Budget, EvalSpec, Experiment, configurations_named, run_experiment
from train.experiment_report import collect, write_report
from train.translations import TranslationGroup, write_translation_groups


def test_trains_exports_evaluates_and_then_skips_what_is_done(experiment_dir, tiny_model_dir):
    lines = []
    run_experiment(tiny_experiment(experiment_dir, tiny_model_dir), log=lines.append)
    run = experiment_dir / "runs" / "hybrid-s0"
    assert (run / "train" / "model" / "config.json").is_file()
    assert (run / "bundle" / "bundle.json").is_file()
    assert (experiment_dir / "base" / "bundle" / "bundle.json").is_file()
    report = json.loads((run / "eval" / "xquad-r.json").read_text(encoding="utf-8"))
    assert report["model"]["bundle"] == str(run / "bundle")
    assert set(json.loads((run / "stages.json").read_text(encoding="utf-8"))) == {"export", "eval xquad-r"}
    assert any("hybrid-s0: training" in line for line in lines)

    again = []
    run_experiment(tiny_experiment(experiment_dir, tiny_model_dir), log=again.append)
    assert again == []

    results = collect(experiment_dir)
    hybrid = results["configurations"]["hybrid"]
    assert hybrid["seeds"]["0"]["training"]["steps"] == 2
    assert hybrid["seeds"]["0"]["training"]["wall_s"] > 0
    assert hybrid["mean"]["xquad-r"]["mono/map"] == report["settings"]["mono"]["macro"]["map"]
    assert results["budget"]["steps"] == 2
    json_path, markdown_path, plot = write_report(experiment_dir)
    assert plot.name == "results.png" and plot.stat().st_size > 0
    table = markdown_path.read_text(encoding="utf-8")
    assert "| base | 1 |" in table and "| hybrid | 1 |" in table
    assert json.loads(json_path.read_text(encoding="utf-8"))["configurations"].keys() == {"base", "hybrid"}


def test_refuses_a_finished_run_trained_with_another_budget(experiment_dir, tiny_model_dir):
    run_experiment(tiny_experiment(experiment_dir, tiny_model_dir, configs=("x-y",)), log=lambda line: None)
    with pytest.raises(EngineError, match=r"trained with other settings \(steps\)"):
        run_experiment(tiny_experiment(experiment_dir, tiny_model_dir, replace(TINY_BUDGET, steps=3),
                                   configs=("x-y",)), log=lambda line: None)


def test_eval_spec_parsing():
    assert EvalSpec.parse("xquad-r") == EvalSpec("xquad-r")
    assert EvalSpec.parse("miracl-subset:yo, sw") == EvalSpec("miracl-subset", ("yo", "sw"))
    for bad in (":yo", "miracl-subset:", "miracl-subset: ,"):
        with pytest.raises(EngineError, match="bad --eval"):
            EvalSpec.parse(bad)


def test_bad_experiment_settings(tmp_path):
    with pytest.raises(EngineError, match="unknown configuration 'x-z'"):
        configurations_named(["hybrid", "x-z"])
    with pytest.raises(EngineError, match="alpha must be between 0 and 1, got 1.5"):
        run_experiment(Experiment(tmp_path, configurations_named(["hybrid"]), (0,), Budget(alpha=1.5)))
    assert not (tmp_path / "base").exists()
    result = CliRunner().invoke(experiment_command, ["--out", str(tmp_path), "--seeds", "one"])
    assert isinstance(result.exception, EngineError) and "--seeds must be comma-separated integers" in str(
        result.exception)
    for ratios, message in (("0.5,x", "--merge-ratios must be comma-separated numbers"),
                            ("0.5,1.25", "a merge ratio must be between 0 and 1, got 1.25")):
        result = CliRunner().invoke(experiment_command, ["--out", str(tmp_path), "--merge-ratios", ratios])
        assert isinstance(result.exception, EngineError) and message in str(result.exception)
    with pytest.raises(EngineError, match="distill weight must be positive"):
        run_experiment(Experiment(tmp_path, configurations_named(["hybrid-anchored"]), (0,), Budget(distill_weight=0)))


def test_anchored_runs_and_their_merges_with_the_base_model(experiment_dir, tiny_model_dir):
    sentences = [TranslationGroup(f"t{n}", {"en": PASSAGES[n], "de": PASSAGES[n + 10]}) for n in range(8)]
    (experiment_dir / "align").mkdir()
    for split in ("train", "dev"):
        write_translation_groups(experiment_dir / "align" / f"flores200-{split}.jsonl", sentences)
    budget = replace(TINY_BUDGET, distill_weight=5.0, align_batch_size=4)
    experiment = replace(tiny_experiment(experiment_dir, tiny_model_dir, budget, configs=("hybrid-anchored",)),
                         merge_ratios=(0.5,))
    lines = []
    run_experiment(experiment, log=lines.append)
    log = json.loads((experiment_dir / "runs" / "hybrid-anchored-s0" / "train" / "training_log.json").read_text())
    assert log["config"]["distill_weight"] == 5.0 and log["config"]["align_data"].endswith("flores200-train.jsonl")
    assert all("align" in entry for entry in log["train"])
    merged = experiment_dir / "runs" / "hybrid-anchored+merge0.5-s0"
    assert json.loads((merged / "model" / "merge.json").read_text())["ratio"] == 0.5
    assert (merged / "eval" / "xquad-r.json").is_file()
    assert "hybrid-anchored+merge0.5-s0: merging with the base model" in lines
    evaluated = [line.partition(":")[0] for line in lines if ": evaluating on " in line]
    assert evaluated.index("hybrid-anchored+merge0.5-s0") < evaluated.index("hybrid-anchored-s0")
    again = []
    run_experiment(experiment, log=again.append)
    assert again == []
    assert set(collect(experiment_dir)["configurations"]) == {"base", "hybrid-anchored", "hybrid-anchored+merge0.5"}
    written = write_report(experiment_dir)
    assert written[-1].name == "merge-tradeoff.png" and written[-1].stat().st_size > 0


def test_one_evaluation_variant_per_experiment_dir(experiment_dir, tiny_model_dir):
    run_experiment(tiny_experiment(experiment_dir, tiny_model_dir, configs=("x-y",)), log=lambda line: None)
    fp32 = replace(tiny_experiment(experiment_dir, tiny_model_dir, configs=("x-y",)), eval_variant="fp32")
    with pytest.raises(EngineError, match="evaluates int8 bundles: use a new experiment dir for fp32"):
        run_experiment(fp32, log=lambda line: None)
    with pytest.raises(EngineError, match="unknown evaluation variant 'int4'"):
        run_experiment(replace(fp32, eval_variant="int4"), log=lambda line: None)
    other = replace(fp32, out_dir=experiment_dir.parent / "fp32")
    (other.out_dir / "pairs").mkdir(parents=True)
    (experiment_dir / "pairs" / "mlqa-r+ntrex128.jsonl").rename(other.out_dir / "pairs" / "mlqa-r+ntrex128.jsonl")
    run_experiment(other, log=lambda line: None)
    bundle = json.loads((other.out_dir / "runs" / "x-y-s0" / "bundle" / "bundle.json").read_text(encoding="utf-8"))
    assert set(bundle["variants"]) == {"fp32"}
    assert collect(other.out_dir)["configurations"]["x-y"]["seeds"]["0"]["parity_mean_cosine"] == 1.0
    assert "fp32 parity" in write_report(other.out_dir)[1].read_text(encoding="utf-8")


def test_a_run_is_compared_by_the_precision_it_trained_in_not_the_one_asked_for(experiment_dir, tiny_model_dir):
    from train.precision import resolve_precision, training_device

    fp32 = tiny_experiment(experiment_dir, tiny_model_dir, replace(TINY_BUDGET, precision="fp32"), configs=("x-y",))
    run_experiment(fp32, log=lambda line: None)
    auto = tiny_experiment(experiment_dir, tiny_model_dir, replace(TINY_BUDGET, precision="auto"), configs=("x-y",))
    if resolve_precision("auto", training_device()) == "fp32":
        again = []
        run_experiment(auto, log=again.append)
        assert again == []
    else:  # a CPU with native bf16: auto means bf16 here, which the fp32 run was not trained in
        with pytest.raises(EngineError, match=r"trained with other settings \(precision fp32\)"):
            run_experiment(auto, log=lambda line: None)


@pytest.mark.parametrize("batching", ["hybrid", "x-x-mono", "x-x", "x-y"])
def test_a_free_yoruba_configuration_is_its_anchored_twin_with_yoruba_out_of_the_keep_term(
        tmp_path, tiny_model_dir, batching):
    from train.experiment import _train_config

    experiment = tiny_experiment(tmp_path, tiny_model_dir,
                                 configs=(f"{batching}-anchored-free-yo", f"{batching}-anchored"))
    free, anchored = (_train_config(experiment, config, 0, tmp_path / "pairs.jsonl",
                                    (tmp_path / "align.jsonl", tmp_path / "dev.jsonl"), tmp_path / "run")
                      for config in experiment.configurations)
    assert free.free_languages == ["yo"] and anchored.free_languages is None and free.batching == batching
    assert replace(free, free_languages=None) == anchored


def test_an_unaligned_yoruba_configuration_draws_no_yoruba_translation_for_the_align_term(tmp_path, tiny_model_dir):
    from train.experiment import ALIGN_LANGUAGES, _train_config
    from train.trainer import _align_sampler

    experiment = tiny_experiment(tmp_path, tiny_model_dir,
                                 configs=("hybrid-no-ntrex-anchored-unaligned-yo", "hybrid-no-ntrex-anchored"))
    align = tmp_path / "align.jsonl"
    write_translation_groups(align, [TranslationGroup(f"g{n}", {lang: f"{lang} {n}" for lang in ALIGN_LANGUAGES})
                                     for n in range(16)])
    unaligned, anchored = (_train_config(experiment, config, 0, tmp_path / "pairs.jsonl", (align, align),
                                         tmp_path / "run") for config in experiment.configurations)
    assert sorted(unaligned.align_languages) == sorted(set(ALIGN_LANGUAGES) - {"yo"})
    assert replace(unaligned, align_languages=None) == anchored

    def target_languages(config):
        sampler = _align_sampler(config, align, 0)
        return {target.split()[0] for _ in range(20) for _, target in sampler.next_batch()}

    assert target_languages(unaligned) == set(ALIGN_LANGUAGES) - {"en", "yo"}
    assert target_languages(anchored) == set(ALIGN_LANGUAGES) - {"en"}
