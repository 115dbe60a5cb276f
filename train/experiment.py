"""The batching experiment: train several configurations with one budget, export each, evaluate each.

Layout of an experiment dir (every stage is skipped when its output is already there, so an
interrupted experiment continues where it stopped, and more seeds or benchmarks can be added later):

    pairs/<source+source>.jsonl      training pair groups (engine build-training-pairs)
    align/<source+source>-<split>.jsonl  translation groups of the anchored configurations
    runs/<config>-s<seed>/train/     engine train's out dir (model/, checkpoint/, log, curve)
    runs/<config>+merge<R>-s<seed>/  model/ = (1 - R) * base + R * the run's model (train.merge), then
                                     bundle/ and eval/ as for a run
    experiment.json                  the evaluation variant and device, fixed for the dir
    runs/<config>-s<seed>/bundle/    the export of train/model (fp32, plus the evaluated variant)
    runs/<config>-s<seed>/eval/      one engine eval JSON report per benchmark
    runs/<config>-s<seed>/stages.json  wall time of each stage
    base/eval/                       the untouched base model (the default bundle), same benchmarks
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.flores import DEFAULT_LANGUAGES as ALIGN_LANGUAGES
from train.builders import PUBLIC_PAIR_SOURCES, public_pair_groups
from train.experiment_results import check_writable, read_result, restore_results, save_results
from train.pairs import write_pair_groups
from train.training_report import LOG_FILE
from train.translation_builders import translation_groups
from train.translations import write_translation_groups

FLORES = ("flores200",)


@dataclass(frozen=True)
class Configuration:
    """One batching strategy on one set of training pair sources; anchored when it has align sources
    (their train split for the align term, the FLORES dev split for validation)."""

    name: str
    batching: str
    sources: tuple[str, ...] = PUBLIC_PAIR_SOURCES
    align_sources: tuple[str, ...] = ()
    temperature: float | None = None    # None: the trainer's default
    learning_rate: float | None = None  # None: the budget's
    freeze_layers: int = 0              # train.dual_encoder.DualEncoder.freeze_lower_layers
    free_languages: tuple[str, ...] = ()  # anchored: left out of the keep term (train.trainer.TrainConfig)
    unaligned_languages: tuple[str, ...] = ()  # anchored: left out of the align term (its translations unused)

    @property
    def anchored(self) -> bool:
        return bool(self.align_sources)


CONFIGURATIONS = {config.name: config for config in (
    Configuration("x-x-mono", "x-x-mono"),
    Configuration("x-x", "x-x"),
    Configuration("x-y", "x-y"),
    Configuration("hybrid", "hybrid"),
    # XQuAD-R's el, ru, th and tr occur in no MLQA-R pair, only in NTREX sentences.
    Configuration("hybrid-no-ntrex", "hybrid", ("mlqa-r",)),
    Configuration("x-x-mono-anchored", "x-x-mono", align_sources=FLORES),
    Configuration("x-x-anchored", "x-x", align_sources=FLORES),
    Configuration("x-y-anchored", "x-y", align_sources=FLORES),
    Configuration("hybrid-anchored", "hybrid", align_sources=FLORES),
    # Ablations of the anchored hybrid recipe: the e5 family's temperature, a lower learning rate, and
    # no MLQA-R pairs at all (MLQA-R is then a zero-shot benchmark, as in the paper).
    Configuration("hybrid-anchored-t0.01", "hybrid", align_sources=FLORES, temperature=0.01),
    Configuration("hybrid-anchored-lr1e-5", "hybrid", align_sources=FLORES, learning_rate=1e-5),
    Configuration("hybrid-anchored-zero-shot", "hybrid", ("ntrex128",),
                  align_sources=("flores200", "tatoeba", "ntrex128-bitext")),
    # Faster steps (docs/benchmarks/training): the embeddings and the lower 6 or 9 of 12 layers kept fixed.
    Configuration("hybrid-anchored-frozen6", "hybrid", align_sources=FLORES, freeze_layers=6),
    Configuration("hybrid-anchored-frozen9", "hybrid", align_sources=FLORES, freeze_layers=9),
    # The keep term holds every training text where the teacher put it, Yoruba's too, where the teacher is
    # weak (FLORES dev bitext mAP 0.85 against 0.97-0.99 for every other language): Yoruba left free.
    Configuration("hybrid-anchored-free-yo", "hybrid", align_sources=FLORES, free_languages=("yo",)),
    # The batching comparison asked again on that recipe, the best one so far.
    Configuration("x-x-mono-anchored-free-yo", "x-x-mono", align_sources=FLORES, free_languages=("yo",)),
    Configuration("x-x-anchored-free-yo", "x-x", align_sources=FLORES, free_languages=("yo",)),
    Configuration("x-y-anchored-free-yo", "x-y", align_sources=FLORES, free_languages=("yo",)),
    # The NTREX inverse-cloze pairs cost plain runs 0.05-0.09 monolingual mAP (docs/experiments/hybrid-cpu):
    # anchored hybrid on the MLQA-R pairs alone, FLORES aligning the languages those pairs lack.
    Configuration("hybrid-no-ntrex-anchored", "hybrid", ("mlqa-r",), align_sources=FLORES),
    # That recipe lost Yoruba (MIRACL yo 0.247 against the base's 0.382), which only its align term sees: the
    # align term pulls Yoruba to the teacher's English, where the teacher is weak. Yoruba left out of it
    # (it did not bring Yoruba back: the README's anchored results).
    Configuration("hybrid-no-ntrex-anchored-unaligned-yo", "hybrid", ("mlqa-r",), align_sources=FLORES,
                  unaligned_languages=("yo",)),
)}


@dataclass(frozen=True)
class Budget:
    """What every configuration gets: the same steps, batch size, lengths and learning rate."""

    steps: int = 300
    batch_size: int = 32
    alpha: float = 0.5
    learning_rate: float = 3e-5
    max_query_length: int = 32
    max_passage_length: int = 64
    freeze_embeddings: bool = True
    validate_every: int = 50
    # Anchored configurations: InfoNCE divides cosines by the temperature (x20 at 0.05), the anchoring
    # distance 2 - 2 cos doubles them, so a weight of 10 pulls about as hard as the contrastive term.
    distill_weight: float = 10.0
    align_batch_size: int = 16
    precision: str = "auto"  # train.precision; the resolved one is recorded in each run's training log


@dataclass(frozen=True)
class EvalSpec:
    """One `engine eval` run: a benchmark, optionally restricted to some languages."""

    benchmark: str
    languages: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.benchmark

    @classmethod
    def parse(cls, text: str) -> EvalSpec:
        """`xquad-r` or `miracl-subset:yo,sw,te`."""
        benchmark, colon, langs = text.partition(":")
        codes = tuple(code.strip() for code in langs.split(",") if code.strip())
        if not benchmark.strip() or (colon and not codes):
            raise EngineError(f"bad --eval {text!r}: give BENCHMARK or BENCHMARK:lang,lang")
        return cls(benchmark.strip(), codes or None)


SETTINGS_FILE = "experiment.json"
DEFAULT_EVALS = (EvalSpec("xquad-r"), EvalSpec("mlqa-r"), EvalSpec("miracl"), EvalSpec("miracl-subset"),
                 EvalSpec("flores200"))


@dataclass(frozen=True)
class Experiment:
    out_dir: Path
    configurations: tuple[Configuration, ...]
    seeds: tuple[int, ...]
    budget: Budget
    evals: tuple[EvalSpec, ...] = DEFAULT_EVALS
    base_model: str = "default"
    eval_variant: str = "int8"  # the bundle variant every model is evaluated as
    device: str = "cpu"         # where evaluation encodes (training uses CUDA when there is one)
    threads: int = 0
    merge_ratios: tuple[float, ...] = ()  # also merge every run with the base model at these ratios
    results_dir: Path | None = None       # where its small files are kept apart (train.experiment_results)
    requantize: bool = False              # export again bundles of an older int8 format (train.requantize)
    quiet: bool = False

    def run_dir(self, config: Configuration, seed: int) -> Path:
        return self.out_dir / "runs" / f"{config.name}-s{seed}"

    def merged_dir(self, config: Configuration, seed: int, ratio: float) -> Path:
        return self.out_dir / "runs" / f"{config.name}+merge{ratio:g}-s{seed}"


def configurations_named(names: list[str]) -> tuple[Configuration, ...]:
    unknown = [name for name in names if name not in CONFIGURATIONS]
    if unknown or not names:
        raise EngineError(f"unknown configuration {unknown[0] if unknown else ''!r} "
                          f"(choose from {', '.join(CONFIGURATIONS)})")
    return tuple(CONFIGURATIONS[name] for name in names)


def run_experiment(experiment: Experiment, data_root: Path | None = None, log=print) -> None:
    """Evaluate the base model, then train, export and evaluate every (configuration, seed)."""
    _check_budget(experiment.budget)
    check_writable(experiment.out_dir, "experiment dir")
    if experiment.results_dir is not None:
        check_writable(experiment.results_dir)
        restored = restore_results(experiment.results_dir, experiment.out_dir)
        if restored:
            log(f"restored {restored} result files from {experiment.results_dir}")
    _check_evaluation_settings(experiment)
    if experiment.requantize and experiment.eval_variant == "int8":
        from train.requantize import drop_stale_quantisation

        drop_stale_quantisation(experiment.out_dir, _model_dirs(experiment), [spec.name for spec in experiment.evals],
                                experiment.base_model == "default", experiment.results_dir, log)
    if not _evaluated(experiment, experiment.out_dir / "base"):
        _evaluate_all(experiment, _base_bundle(experiment, log), experiment.out_dir / "base", log)
    for config in experiment.configurations:
        pairs = experiment.out_dir / "pairs" / f"{'+'.join(config.sources)}.jsonl"
        align = _align_paths(experiment.out_dir, config.align_sources) if config.anchored else None
        for seed in experiment.seeds:
            run_dir = experiment.run_dir(config, seed)
            train_config = _train_config(experiment, config, seed, pairs, align, run_dir)
            merged_dirs = [experiment.merged_dir(config, seed, ratio) for ratio in experiment.merge_ratios]
            if all(_evaluated(experiment, done) for done in (run_dir, *merged_dirs)):
                _check_same_training(run_dir / "train" / LOG_FILE, train_config)
                continue  # also when only its results were restored (train.experiment_results), without weights
            _write_pairs(pairs, config.sources, data_root, log)
            if align is not None:
                _write_align_files(align, config.align_sources, data_root, log)
            _train(train_config, run_dir, log)
            _export(run_dir / "train" / "model", run_dir, f"{run_dir.name} (fine-tuned from {experiment.base_model})",
                    experiment.eval_variant, log)
            for ratio, merged in zip(experiment.merge_ratios, merged_dirs):
                _merge(experiment, run_dir / "train" / "model", merged, ratio, log)
                _export(merged / "model", merged, f"{merged.name} ({experiment.base_model} merged with {run_dir.name})",
                        experiment.eval_variant, log)
            # The merges first: a merge at the chosen ratio is the model the recipe delivers, so a session
            # that stops part-way leaves its figures rather than the run's.
            for model_dir in (*merged_dirs, run_dir):
                _evaluate_all(experiment, str(model_dir / "bundle"), model_dir, log)


def _model_dirs(experiment: Experiment) -> dict[Path, Path]:
    """Each requested run and merge dir -> the HF model dir its bundle is exported from."""
    dirs = {}
    for config in experiment.configurations:
        for seed in experiment.seeds:
            run_dir = experiment.run_dir(config, seed)
            dirs[run_dir] = run_dir / "train" / "model"
            for ratio in experiment.merge_ratios:
                merged = experiment.merged_dir(config, seed, ratio)
                dirs[merged] = merged / "model"
    return dirs


def _check_budget(budget: Budget) -> None:
    # The sampler and trainer check the rest; alpha is only read by hybrid runs, so check it up front.
    if not 0.0 <= budget.alpha <= 1.0:
        raise EngineError(f"alpha must be between 0 and 1, got {budget.alpha}")
    if budget.distill_weight <= 0:
        raise EngineError(f"the anchored configurations' distill weight must be positive, got {budget.distill_weight}")


def _check_evaluation_settings(experiment: Experiment) -> None:
    """One variant per experiment dir: figures of int8 and fp32 bundles must not meet in one table."""
    from export.bundle_writer import VARIANT_FILES

    if experiment.eval_variant not in VARIANT_FILES:
        raise EngineError(f"unknown evaluation variant {experiment.eval_variant!r} "
                          f"(choose from {', '.join(VARIANT_FILES)})")
    path = experiment.out_dir / SETTINGS_FILE
    wanted = {"eval_variant": experiment.eval_variant, "device": experiment.device}
    if path.is_file():
        recorded = read_result(path, ("eval_variant",))
        if recorded["eval_variant"] != experiment.eval_variant:
            raise EngineError(f"{experiment.out_dir} evaluates {recorded['eval_variant']} bundles: "
                              f"use a new experiment dir for {experiment.eval_variant}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")


def _write_pairs(path: Path, sources: tuple[str, ...], data_root: Path | None, log) -> None:
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"wrote {write_pair_groups(path, public_pair_groups(sources, data_root))} pair groups to {path}")


def _align_paths(out_dir: Path, sources: tuple[str, ...]) -> tuple[Path, Path]:
    """Translation groups in ALIGN_LANGUAGES: the sources' train split, and the FLORES dev split."""
    return out_dir / "align" / f"{'+'.join(sources)}-train.jsonl", out_dir / "align" / "flores200-dev.jsonl"


def _write_align_files(paths: tuple[Path, Path], sources: tuple[str, ...], data_root: Path | None, log) -> None:
    for path, chosen, split in zip(paths, (sources, FLORES), ("train", "dev")):
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            groups = translation_groups(chosen, data_root, list(ALIGN_LANGUAGES), split)
            log(f"wrote {write_translation_groups(path, groups)} translation groups to {path}")


def _train_config(experiment: Experiment, config: Configuration, seed: int, pairs: Path,
                  align: tuple[Path, Path] | None, run_dir: Path):
    from train.trainer import TrainConfig

    budget = experiment.budget
    anchoring = {}
    if align is not None:
        anchoring = dict(distill_weight=budget.distill_weight, align_data=align[0], align_validation_data=align[1],
                         align_batch_size=budget.align_batch_size, free_languages=list(config.free_languages) or None,
                         align_languages=_aligned_languages(config))
    return TrainConfig(
        data=pairs, out_dir=run_dir / "train", base_model=experiment.base_model, batching=config.batching,
        alpha=budget.alpha, batch_size=budget.batch_size, steps=budget.steps,
        learning_rate=config.learning_rate or budget.learning_rate,
        **({} if config.temperature is None else {"temperature": config.temperature}),
        max_query_length=budget.max_query_length, max_passage_length=budget.max_passage_length,
        freeze_embeddings=budget.freeze_embeddings, freeze_layers=config.freeze_layers,
        validate_every=budget.validate_every, checkpoint_every=budget.validate_every, precision=budget.precision,
        seed=seed, quiet=experiment.quiet,
        **anchoring,
    )


def _aligned_languages(config: Configuration) -> list[str] | None:
    """The align term's languages: None (all of ALIGN_LANGUAGES) unless some are left out."""
    if not config.unaligned_languages:
        return None
    return [lang for lang in ALIGN_LANGUAGES if lang not in config.unaligned_languages]


def _train(train_config, run_dir: Path, log) -> None:
    from train.trainer import CHECKPOINT_DIR, TRAINER_STATE_FILE, train

    log_file = run_dir / "train" / LOG_FILE
    if log_file.is_file():
        _check_same_training(log_file, train_config)
        if (train_config.out_dir / "model" / "config.json").is_file():
            return
        # Its results were restored on a machine without its weights, and a merge still needs them.
        log(f"{run_dir.name}: training again (its weights are not on this machine)")
        train(train_config)
        return
    resume = (run_dir / "train" / CHECKPOINT_DIR / TRAINER_STATE_FILE).is_file()
    log(f"{run_dir.name}: training ({'resuming' if resume else 'from the base model'})")
    train(replace(train_config, resume=resume))


def _check_same_training(log_file: Path, config) -> None:
    """A finished run in the dir must have been trained with this budget, or the table would mix budgets."""
    from train.precision import resolve_precision, training_device
    from train.trainer import TrainConfig, json_config

    if not log_file.is_file():
        return
    log = read_result(log_file, ("config",))
    wanted = _comparable(json_config(config))
    # A setting added after the run was trained is recorded at its default.
    recorded = _comparable({**json_config(TrainConfig(data=config.data, out_dir=config.out_dir)), **log["config"]})
    # The precision asked for (`auto`) may differ where the one it resolved to (compared below) does not.
    differing = [key for key in wanted if key not in ("resume", "quiet", "precision") and recorded[key] != wanted[key]]
    if log.get("precision", "fp32") != resolve_precision(config.precision, training_device()):
        differing.append(f"precision {log.get('precision', 'fp32')}")
    if differing:
        raise EngineError(f"{log_file.parent} was trained with other settings ({', '.join(differing)}): "
                          f"use a new experiment dir for a new budget")


PATH_SETTINGS = ("data", "out_dir", "validation_data", "align_data", "align_validation_data")


def _comparable(config: dict) -> dict:
    """Paths as file names: results restored into another experiment dir name the same files."""
    return {key: Path(config[key]).name if key in PATH_SETTINGS and config[key] else config[key] for key in config}


def _base_bundle(experiment: Experiment, log) -> str:
    """The default model's bundle is the default bundle; another base model is exported like the runs."""
    if experiment.base_model == "default":
        return "default"
    from export.base_models import resolve_base_model

    base_dir = experiment.out_dir / "base"
    _export(resolve_base_model(experiment.base_model, quiet=experiment.quiet), base_dir,
            f"base model {experiment.base_model}", experiment.eval_variant, log)
    return str(base_dir / "bundle")


def _merge(experiment: Experiment, tuned: Path, merged_dir: Path, ratio: float, log) -> None:
    from train.merge import MERGE_RECORD, merge_models

    if _has_bundle(merged_dir, experiment.eval_variant) or (merged_dir / "model" / MERGE_RECORD).is_file():
        return
    log(f"{merged_dir.name}: merging with the base model")
    started = time.perf_counter()
    merge_models(experiment.base_model, tuned, ratio, merged_dir / "model", quiet=experiment.quiet)
    _record_stage(merged_dir, "merge", time.perf_counter() - started, ratio=ratio)


def _export(model_dir: Path, run_dir: Path, source: str, variant: str, log) -> None:
    from export.bundle_writer import export_bundle

    if _has_bundle(run_dir, variant):
        return
    log(f"{run_dir.name}: exporting the bundle")
    started = time.perf_counter()
    quantize = () if variant == "fp32" else (variant,)
    # No force: every bundle in the table passes the int8 parity gate (the export escalates its int8
    # recipe until one does: export.onnx_export.INT8_RECIPES), or the experiment stops here.
    export_bundle(model_dir, run_dir / "bundle", quantize, quiet=True, source_model=source)
    _record_stage(run_dir, "export", time.perf_counter() - started)


def _has_bundle(run_dir: Path, variant: str) -> bool:
    """A bundle whose results were restored (train.experiment_results) has its manifest, not its model."""
    from engine.bundle import MANIFEST_NAME
    from export.bundle_writer import VARIANT_FILES

    return all((run_dir / "bundle" / name).is_file() for name in (MANIFEST_NAME, VARIANT_FILES[variant]))


def _evaluate_all(experiment: Experiment, model: str, run_dir: Path, log) -> None:
    from engine.encoder import Encoder
    from engine.evaluation.evaluate import EvalOptions, evaluate
    from engine.evaluation.outputs import report_json

    encoder = None
    for spec in experiment.evals:
        if _has_evaluation(run_dir, spec):
            continue
        path = run_dir / "eval" / f"{spec.name}.json"
        log(f"{run_dir.name}: evaluating on {spec.name}")
        encoder = encoder or Encoder(model, variant=experiment.eval_variant, device=experiment.device,
                                     intra_op_threads=experiment.threads)
        started = time.perf_counter()
        options = EvalOptions(languages=list(spec.languages) if spec.languages else None, quiet=experiment.quiet)
        result = evaluate(spec.benchmark, encoder, options)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report_json(result.report), encoding="utf-8")
        _record_stage(run_dir, f"eval {spec.name}", time.perf_counter() - started)
        _keep_results(experiment)


def _keep_results(experiment: Experiment) -> None:
    """After every evaluation: the tables made again from every report so far, then copied with the reports
    to the results dir, so a run that stops part-way leaves tables that match the reports beside them."""
    from train.experiment_report import write_report  # it imports this module

    write_report(experiment.out_dir)
    if experiment.results_dir is not None:
        save_results(experiment.out_dir, experiment.results_dir)


def _evaluated(experiment: Experiment, run_dir: Path) -> bool:
    return all(_has_evaluation(run_dir, spec) for spec in experiment.evals)


def _has_evaluation(run_dir: Path, spec: EvalSpec) -> bool:
    path = run_dir / "eval" / f"{spec.name}.json"
    if not path.is_file():
        return False
    if spec.languages is None:
        return True
    return sorted(read_result(path, ("languages",))["languages"]) == sorted(spec.languages)


def _record_stage(run_dir: Path, stage: str, seconds: float, **details) -> None:
    path = run_dir / "stages.json"
    stages = read_result(path) if path.is_file() else {}
    stages[stage] = {"wall_s": round(seconds, 1), **details}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stages, indent=2) + "\n", encoding="utf-8")
