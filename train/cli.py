"""`engine train`, `engine build-training-pairs` and `engine experiment`: thin click wrappers over train/."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli_options import split_codes
from engine.errors import EngineError
from train.builders import DEFAULT_CLOZE_WINDOW, PUBLIC_PAIR_SOURCES, public_pair_groups
from train.experiment import (
    CONFIGURATIONS,
    DEFAULT_EVALS,
    Budget,
    EvalSpec,
    Experiment,
    configurations_named,
    run_experiment,
)
from train.experiment_results import save_results
from train.mmarco import mmarco_pair_groups
from train.pairs import write_pair_groups
from train.precision import PRECISIONS
from train.samplers import BATCHINGS
from train.translation_builders import TRANSLATION_SOURCES, translation_groups
from train.translations import write_translation_groups

PAIR_SOURCES = (*PUBLIC_PAIR_SOURCES, "mmarco")


def register(group: click.Group) -> None:
    group.add_command(train_command, "train")
    group.add_command(build_pairs_command, "build-training-pairs")
    group.add_command(experiment_command, "experiment")
    group.add_command(merge_command, "merge")


@click.command()
@click.option("--base", default="default", show_default=True, help="base model: `default`, an HF model dir or hub id")
@click.option("--data", required=True, type=click.Path(path_type=Path), help="pair groups, JSONL (train.pairs)")
@click.option("--validation-data", type=click.Path(path_type=Path),
              help="pair groups for validation (default: hold out --validation-fraction of --data)")
@click.option("--validation-fraction", type=float, default=0.05, show_default=True)
@click.option("--batching", type=click.Choice(BATCHINGS), default="hybrid", show_default=True)
@click.option("--alpha", type=float, default=0.5, show_default=True, help="hybrid: chance of an x-x-mono batch")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--steps", type=int, default=200, show_default=True)
@click.option("--lr", type=float, default=3e-5, show_default=True)
@click.option("--max-query-length", type=int, default=64, show_default=True, help="tokens")
@click.option("--max-passage-length", type=int, default=128, show_default=True, help="tokens")
@click.option("--validate-every", type=int, default=50, show_default=True, help="steps between validations")
@click.option("--patience", type=int, default=3, show_default=True,
              help="validations without improvement before stopping")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="run dir: model/, checkpoint/, log, curve")
@click.option("--freeze-embeddings", is_flag=True, help="keep the word embeddings fixed")
@click.option("--freeze-layers", type=int, default=0, show_default=True,
              help="also keep the embeddings and this many lowest transformer layers fixed (a shorter backward "
                   "pass: see docs/benchmarks/training)")
@click.option("--languages", help="comma-separated: train on these languages' pairs only (default: all)")
@click.option("--temperature", type=float, help="InfoNCE temperature (default 0.05, see train/loss.py; the e5 "
                                                "family was trained with 0.01)")
@click.option("--distill-weight", type=float, default=0.0, show_default=True,
              help="weight of the anchoring terms (keep each text at the teacher's embedding, and align "
                   "translations with --align-data); 0: contrastive loss alone")
@click.option("--align-data", type=click.Path(path_type=Path),
              help="translation groups (engine build-training-pairs --sources flores200,...) for the align term")
@click.option("--align-validation-data", type=click.Path(path_type=Path),
              help="translation groups whose align loss joins the validation loss (e.g. the FLORES dev split)")
@click.option("--align-batch-size", type=int, default=16, show_default=True, help="translation pairs per step")
@click.option("--align-languages", help="comma-separated: align translations in these languages only")
@click.option("--free-languages", help="comma-separated: the keep term of anchoring leaves texts in these "
                                     "languages free to move (where the teacher is weak); default: keeps all")
@click.option("--teacher", help="the teacher's model bundle dir or `default` (default: the base model's bundle)")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
              help="auto: bf16 autocast on CUDA and on CPUs with avx512_bf16 or AMX, else fp32")
@click.option("--resume", is_flag=True, help="continue from --out/checkpoint")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bar")
def train_command(base, data, validation_data, validation_fraction, batching, alpha, batch_size, steps, lr,
                  max_query_length, max_passage_length, validate_every, patience, out, freeze_embeddings,
                  freeze_layers, languages, temperature, distill_weight, align_data, align_validation_data,
                  align_batch_size, align_languages, free_languages, teacher, precision, resume, seed, quiet):
    """Fine-tune a dual encoder on parallel pair groups with InfoNCE (hybrid batching by default),
    optionally anchored to the base model (--distill-weight)."""
    from train.trainer import TrainConfig, train  # torch: imported only when training

    result = train(TrainConfig(
        data=data, out_dir=out, base_model=base, batching=batching, alpha=alpha, batch_size=batch_size, steps=steps,
        learning_rate=lr, **({} if temperature is None else {"temperature": temperature}),
        max_query_length=max_query_length,
        max_passage_length=max_passage_length, freeze_embeddings=freeze_embeddings, freeze_layers=freeze_layers,
        languages=split_codes(languages), validation_data=validation_data, validation_fraction=validation_fraction,
        validate_every=validate_every,
        patience=patience, checkpoint_every=validate_every, distill_weight=distill_weight, align_data=align_data,
        align_validation_data=align_validation_data, align_batch_size=align_batch_size,
        align_languages=split_codes(align_languages), free_languages=split_codes(free_languages), teacher=teacher,
        precision=precision, resume=resume, seed=seed, quiet=quiet,
    ))
    stopped = " (stopped early)" if result.stopped_early else ""
    click.echo(f"trained {result.steps_done} steps{stopped}; model: {result.model_dir}")


@click.command()
@click.option("--out", required=True, type=click.Path(path_type=Path), help="JSONL file to write")
@click.option("--sources", default=",".join(PUBLIC_PAIR_SOURCES), show_default=True,
              help="comma-separated pair sources: mlqa-r (its training half), ntrex128 (inverse cloze), mmarco "
                   "(needs --mmarco-dir); or translation sources (for --align-data): flores200, ntrex128-bitext, "
                   "tatoeba")
@click.option("--languages", help="translation sources: keep these languages only (default: all they have)")
@click.option("--split", type=click.Choice(["train", "dev"]), default="train", show_default=True,
              help="flores200: the train split for training, dev for validation (dev is also `engine eval "
                   "flores200`)")
@click.option("--window", type=int, default=DEFAULT_CLOZE_WINDOW, show_default=True,
              help="ntrex128: sentences on each side of the query that form its passage")
@click.option("--data-dir", type=click.Path(path_type=Path), help="data root (default: ENGINE_DATA_DIR)")
@click.option("--mmarco-dir", type=click.Path(path_type=Path),
              help="mmarco: triples.tsv and <lang>/queries.tsv, <lang>/collection.tsv (see train/mmarco.py)")
@click.option("--mmarco-max-queries", type=int, help="mmarco: only the first N queries of triples.tsv")
def build_pairs_command(out, sources, languages, split, window, data_dir, mmarco_dir, mmarco_max_queries):
    """Write training pair groups, or translation groups, from public data; never from XQuAD-R, the MLQA-R
    eval half, MIRACL or the FLORES-200 dev split (unless --split dev asks for it, for validation)."""
    chosen = [name.strip() for name in sources.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PAIR_SOURCES + TRANSLATION_SOURCES]
    if unknown or not chosen:
        raise EngineError(f"unknown source {unknown[0] if unknown else sources!r} (pair sources: "
                          f"{', '.join(PAIR_SOURCES)}; translation sources: {', '.join(TRANSLATION_SOURCES)})")
    translations = [name for name in chosen if name in TRANSLATION_SOURCES]
    if translations:
        if len(translations) < len(chosen):
            raise EngineError("pair sources and translation sources write different files: build them apart "
                              f"(translation sources here: {', '.join(translations)})")
        groups = translation_groups(translations, data_dir, split_codes(languages), split)
        if not groups:
            raise EngineError("no translation group has two of the chosen languages")
        count = write_translation_groups(out, groups)
        click.echo(f"wrote {count} translation groups to {out}")
        return
    if languages is not None:
        raise EngineError("--languages applies to translation sources only (train with --languages instead)")
    if "mmarco" in chosen and mmarco_dir is None:
        raise EngineError("the mmarco source needs --mmarco-dir (mMARCO is not in the data dir)")
    if mmarco_max_queries is not None and mmarco_max_queries < 1:
        raise EngineError(f"--mmarco-max-queries must be positive, got {mmarco_max_queries}")
    groups = public_pair_groups(chosen, data_dir, window)
    if "mmarco" in chosen:
        groups += mmarco_pair_groups(mmarco_dir, mmarco_max_queries)
    count = write_pair_groups(out, groups)
    click.echo(f"wrote {count} pair groups to {out}")


@click.command()
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="experiment dir; rerun with the same dir to continue or to add seeds and benchmarks")
@click.option("--configs", default=",".join(CONFIGURATIONS), show_default=True, help="comma-separated configurations")
@click.option("--seeds", default="0", show_default=True, help="comma-separated training seeds")
@click.option("--eval", "evals", multiple=True,
              help="BENCHMARK or BENCHMARK:lang,lang; repeat for several "
                   f"(default: {' '.join(spec.benchmark for spec in DEFAULT_EVALS)})")
@click.option("--base", default="default", show_default=True, help="base model: `default`, an HF model dir or hub id")
@click.option("--steps", type=int, default=Budget.steps, show_default=True)
@click.option("--batch-size", type=int, default=Budget.batch_size, show_default=True)
@click.option("--alpha", type=float, default=Budget.alpha, show_default=True, help="hybrid: chance of an x-x-mono batch")
@click.option("--lr", type=float, default=Budget.learning_rate, show_default=True)
@click.option("--max-query-length", type=int, default=Budget.max_query_length, show_default=True, help="tokens")
@click.option("--max-passage-length", type=int, default=Budget.max_passage_length, show_default=True, help="tokens")
@click.option("--freeze-embeddings/--train-embeddings", default=Budget.freeze_embeddings, show_default=True)
@click.option("--validate-every", type=int, default=Budget.validate_every, show_default=True)
@click.option("--eval-variant", type=click.Choice(["int8", "fp32", "fp16"]), default="int8", show_default=True,
              help="the bundle variant every model is exported to and evaluated as (fixed per experiment dir)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True,
              help="where evaluation encodes (training uses CUDA whenever torch sees it)")
@click.option("--threads", type=int, default=0, help="ONNX Runtime intra-op threads for evaluation (0: all cores)")
@click.option("--distill-weight", type=float, default=Budget.distill_weight, show_default=True,
              help="anchored configurations: weight of the anchoring terms")
@click.option("--align-batch-size", type=int, default=Budget.align_batch_size, show_default=True,
              help="anchored configurations: translation pairs per step")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True,
              help="training precision (train.precision); fp32 keeps an experiment dir continuable on any CPU")
@click.option("--merge-ratios", default="", help="comma-separated R in [0, 1]: also evaluate (1 - R) * base + R * "
                                                 "each run (WiSE-FT), e.g. 0.25,0.5,0.75")
@click.option("--results", "results_dir", type=click.Path(path_type=Path, file_okay=False),
              help="also keep the figures, logs and tables (no weights) here, and continue from those found here")
@click.option("--requantize", is_flag=True,
              help="export again each requested model (and the base model) whose int8 bundle is in an older "
                   "format than `engine export` writes now, and evaluate it again on each --eval whose report is; "
                   "needs their weights")
@click.option("--data-dir", type=click.Path(path_type=Path), help="data root (default: ENGINE_DATA_DIR)")
@click.option("--quiet", is_flag=True, help="no progress bars")
def experiment_command(out, configs, seeds, evals, base, steps, batch_size, alpha, lr, max_query_length,
                       max_passage_length, freeze_embeddings, validate_every, eval_variant, device, threads,
                       distill_weight, align_batch_size, precision, merge_ratios, results_dir, requantize, data_dir,
                       quiet):
    """Train each configuration with one budget, export and evaluate it and the base model; write the table."""
    try:
        seed_list = tuple(int(seed) for seed in seeds.split(",") if seed.strip())
    except ValueError:
        raise EngineError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    experiment = Experiment(
        out_dir=out, configurations=configurations_named([name.strip() for name in configs.split(",") if name.strip()]),
        seeds=seed_list or (0,),
        budget=Budget(steps=steps, batch_size=batch_size, alpha=alpha, learning_rate=lr,
                      max_query_length=max_query_length, max_passage_length=max_passage_length,
                      freeze_embeddings=freeze_embeddings, validate_every=validate_every,
                      distill_weight=distill_weight, align_batch_size=align_batch_size, precision=precision),
        evals=tuple(EvalSpec.parse(text) for text in evals) or DEFAULT_EVALS,
        base_model=base, eval_variant=eval_variant, device=device, threads=threads,
        merge_ratios=_ratios(merge_ratios), results_dir=results_dir, requantize=requantize, quiet=quiet,
    )
    run_experiment(experiment, data_dir, log=lambda line: click.echo(line, err=True))
    from train.experiment_report import write_report  # noqa: E402 (imported after the long run: see below)
    for path in write_report(out):
        click.echo(f"wrote {path}")
    if results_dir is not None:
        click.echo(f"kept {save_results(out, results_dir)} result files in {results_dir}")


def _ratios(text: str) -> tuple[float, ...]:
    try:
        ratios = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise EngineError(f"--merge-ratios must be comma-separated numbers, got {text!r}") from None
    outside = [ratio for ratio in ratios if not 0.0 <= ratio <= 1.0]
    if outside:
        raise EngineError(f"a merge ratio must be between 0 and 1, got {outside[0]:g}")
    return ratios


@click.command()
@click.argument("base")
@click.argument("tuned")
@click.option("--ratio", type=float, required=True, help="0: the base model, 1: the fine-tuned one")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="HF model dir to write")
@click.option("--overwrite", is_flag=True, help="replace an existing dir at --out")
@click.option("--quiet", is_flag=True)
def merge_command(base, tuned, ratio, out, overwrite, quiet):
    """Average BASE and TUNED weights (WiSE-FT): (1 - R) * BASE + R * TUNED, as an HF model dir for export."""
    from train.merge import merge_models  # torch: imported only when merging

    if out.exists() and not overwrite:
        raise EngineError(f"{out} exists: pass --overwrite to replace it")
    merge_models(base, tuned, ratio, out, quiet)
    click.echo(f"merged {base} and {tuned} at ratio {ratio:g}; model: {out}")
