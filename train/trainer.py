"""Contrastive fine-tuning of a dual encoder on parallel pair groups (the seed paper's method).

Writes into `out_dir`:
- `model/`: the best model by validation loss (the last one without validation), an HF model dir
  that `export.bundle_writer.export_bundle` takes as it is;
- `checkpoint/`: the latest state, the same HF model dir plus `trainer_state.pt` (optimizer,
  scheduler, step, sampler and RNG state, history) to resume from;
- `training_log.json` and `training_curve.png` (every loss term apart).

With `distill_weight` > 0 the loss adds the anchoring terms of train.anchoring against a frozen
teacher (the base model's bundle), whose embeddings of every text the run will see are computed
before the first step.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.atomic_dir import replace_dir
from engine.errors import EngineError
from export.base_models import resolve_base_model
from train.anchoring import AlignSampler, anchor_distance, total_loss
from train.distributed import ONE_PROCESS, Ranks, check_batch, join_process_group, leave_process_group
from train.dual_encoder import DualEncoder
from train.loss import DEFAULT_TEMPERATURE, info_nce_loss
from train.pairs import PairGroup, read_pair_groups
from train.precision import autocast, resolve_precision, training_device
from train.samplers import BatchSampler, TrainingPair, check_languages_have_pairs
from train.teacher import Teacher, teacher_bundle
from train.training_report import CURVE_FILE, LOG_FILE, plot_training_curve, write_training_log
from train.translations import read_translation_groups

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE_FILE = "trainer_state.pt"


@dataclass
class TrainConfig:
    data: Path
    out_dir: Path
    base_model: str = "default"
    batching: str = "hybrid"
    alpha: float = 0.5
    batch_size: int = 32
    steps: int = 200
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    temperature: float = DEFAULT_TEMPERATURE
    max_query_length: int = 64
    max_passage_length: int = 128
    freeze_embeddings: bool = False
    freeze_layers: int = 0  # also keep the embeddings and this many lowest layers fixed (DualEncoder.freeze_lower_layers)
    languages: list[str] | None = None  # train on these languages' pairs only (default: all)
    # Validation: a separate pair file, else this fraction of the training groups held out.
    validation_data: Path | None = None
    validation_fraction: float = 0.05
    validation_batches: int = 4
    validate_every: int = 50
    patience: int = 3
    checkpoint_every: int = 50
    # Anchoring (train.anchoring): 0 trains on the contrastive loss alone.
    distill_weight: float = 0.0
    align_data: Path | None = None             # translation groups (train.translations) for the align term
    align_validation_data: Path | None = None  # translation groups whose align loss joins validation
    align_batch_size: int = 16
    align_languages: list[str] | None = None   # translations in these languages only (default: all)
    # The keep term leaves texts in these languages free to move: where the teacher is weak, keeping its
    # embeddings would hold back what the pairs teach (default: keep every text).
    free_languages: list[str] | None = None
    source_language: str = "en"                # the teacher embeds this side of each translation pair
    teacher: str | None = None                 # bundle dir or `default`; default: the base model's bundle
    precision: str = "auto"                    # train.precision: auto, fp32 or bf16 (autocast)
    resume: bool = False
    seed: int = 0
    quiet: bool = False


@dataclass
class TrainResult:
    model_dir: Path
    steps_done: int
    best_validation_loss: float | None
    stopped_early: bool


def train(config: TrainConfig) -> TrainResult:
    out_dir = Path(config.out_dir)
    _check_config(config)
    groups, validation_groups = _training_and_validation_groups(config)
    check_languages_have_pairs(groups, config.free_languages or [], what="free language")
    checkpoint = out_dir / CHECKPOINT_DIR
    resuming = config.resume and (checkpoint / TRAINER_STATE_FILE).is_file()
    if config.resume and not resuming:
        raise EngineError(f"cannot resume: {checkpoint / TRAINER_STATE_FILE} does not exist")
    device = training_device()
    ranks = join_process_group(device.type == "cuda")
    check_batch(config.batch_size, ranks)
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
    precision = resolve_precision(config.precision, device)
    torch.manual_seed(config.seed)
    base = checkpoint if resuming else resolve_base_model(config.base_model, quiet=config.quiet)
    encoder = DualEncoder(base, config.max_query_length, config.max_passage_length).to(device)
    if config.freeze_embeddings:
        encoder.freeze_word_embeddings()
    encoder.freeze_lower_layers(config.freeze_layers)
    sampler = _batch_sampler(config, groups)
    align_sampler = _align_sampler(config, config.align_data, config.seed) if config.align_data else None
    validation = _validation_batches(config, validation_groups)
    teacher = _teacher(config, encoder, groups, validation, ranks) if config.distill_weight > 0 else None
    forward = _distributed_forward(encoder, device) if ranks.world > 1 else None
    optimizer = torch.optim.AdamW([p for p in encoder.parameters() if p.requires_grad],
                                  lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = _linear_warmup_schedule(optimizer, math.ceil(config.warmup_ratio * config.steps), config.steps)
    progress = {"step": 0, "train": [], "validation": [], "best": None, "bad_validations": 0, "stopped_early": False,
                "wall_s": 0.0,  # training time, summed over resumed sessions
                "precision": precision}
    if resuming:
        state = torch.load(checkpoint / TRAINER_STATE_FILE, weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.load_state(state["sampler"])
        if (align_sampler is None) != (state.get("align_sampler") is None):
            raise EngineError(f"cannot resume: the checkpoint was trained {'without' if align_sampler else 'with'} "
                              f"alignment data; give the same --align-data as the run it continues")
        if align_sampler is not None:
            align_sampler.load_state(state["align_sampler"])
        torch.set_rng_state(state["torch_rng"])
        progress = state["progress"]
        trained_in = progress.setdefault("precision", "fp32")  # checkpoints older than the option were fp32
        if trained_in != precision:
            raise EngineError(f"cannot resume: the checkpoint was trained in {trained_in}, and --precision "
                              f"{config.precision} means {precision} here: pass --precision {trained_in}")

    progress["ranks"] = ranks.world
    bar = _progress_bar(config, progress["step"], ranks)
    session_start, session_base = time.perf_counter(), progress.get("wall_s", 0.0)
    while progress["step"] < config.steps and not progress["stopped_early"]:
        loss, terms = training_step(encoder, optimizer, sampler.next_batch(),
                                    align_sampler and align_sampler.next_batch(), teacher, config, device, precision,
                                    forward, ranks)
        scheduler.step()
        progress["step"] += 1
        step = progress["step"]
        logged = {name: ranks.mean(term.item()) for name, term in {"loss": loss, **terms}.items()}
        progress["train"].append({"step": step, "loss": logged.pop("loss"), "lr": scheduler.get_last_lr()[0], **logged})
        bar.update(1)
        bar.set_postfix(loss=f"{progress['train'][-1]['loss']:.4f}")
        if validation and (step % config.validate_every == 0 or step == config.steps):
            if ranks.is_main:  # validation, the best model and early stopping are rank 0's
                _validate(encoder, validation, teacher, config, progress, out_dir / MODEL_DIR, device, precision)
            progress["stopped_early"] = ranks.broadcast_flag(progress["stopped_early"])
        progress["wall_s"] = session_base + time.perf_counter() - session_start
        if ranks.is_main and (step % config.checkpoint_every == 0 or step == config.steps or progress["stopped_early"]):
            _save_checkpoint(encoder, checkpoint, optimizer, scheduler, {
                "sampler": sampler.state(), "align_sampler": align_sampler and align_sampler.state()}, progress)
    bar.close()
    if ranks.is_main:
        if not validation:
            with replace_dir(out_dir / MODEL_DIR) as temp:
                encoder.save(temp)
        write_training_log(out_dir / LOG_FILE, {"config": json_config(config), "base_model": str(base), **progress})
        plot_training_curve(out_dir / CURVE_FILE, progress["train"], progress["validation"])
    ranks.barrier()
    leave_process_group(ranks)
    return TrainResult(out_dir / MODEL_DIR, progress["step"], progress["best"], progress["stopped_early"])


def _distributed_forward(encoder: DualEncoder, device: torch.device):
    """The training forward under DistributedDataParallel (gradients averaged over the ranks). The
    pooler's weights get no gradient (the encoder pools itself), hence find_unused_parameters."""
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(_TrainingForward(encoder), device_ids=device_ids, find_unused_parameters=True)


def _check_config(config: TrainConfig) -> None:
    for name in ("steps", "validate_every", "checkpoint_every", "validation_batches", "patience",
                 "max_query_length", "max_passage_length"):
        if getattr(config, name) < 1:
            raise EngineError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0.0 <= config.validation_fraction < 1.0:
        raise EngineError(f"validation_fraction must be in [0, 1), got {config.validation_fraction}")
    if config.temperature <= 0:
        raise EngineError(f"temperature must be positive, got {config.temperature}")
    if not config.learning_rate > 0:  # NaN too
        raise EngineError(f"learning rate must be positive, got {config.learning_rate}")
    if not config.weight_decay >= 0:
        raise EngineError(f"weight decay must be 0 or more, got {config.weight_decay}")
    if not 0.0 <= config.warmup_ratio <= 1.0:
        raise EngineError(f"warmup ratio must be between 0 and 1, got {config.warmup_ratio}")
    if config.distill_weight < 0:
        raise EngineError(f"distill weight must be 0 or more, got {config.distill_weight}")
    if config.distill_weight == 0 and (config.align_data or config.align_validation_data or config.teacher):
        raise EngineError("alignment data and a teacher are used by anchoring only: give a distill weight above 0")
    if config.free_languages and config.distill_weight == 0:
        raise EngineError("free languages are left out of the keep term of anchoring: give a distill weight above 0")
    outside = [lang for lang in config.free_languages or [] if config.languages and lang not in config.languages]
    if outside:
        raise EngineError(f"free language {outside[0]!r} is not among the training languages "
                          f"({', '.join(config.languages)})")
    if config.align_validation_data and not config.align_data:
        raise EngineError("alignment validation data needs alignment data (--align-data) to train on")


def _training_and_validation_groups(config: TrainConfig) -> tuple[list[PairGroup], list[PairGroup]]:
    groups = read_pair_groups(config.data)
    if config.validation_data is not None:
        return groups, read_pair_groups(config.validation_data)
    held_out = math.floor(config.validation_fraction * len(groups))
    order = np.random.default_rng(config.seed).permutation(len(groups))
    return [groups[i] for i in sorted(order[held_out:])], [groups[i] for i in sorted(order[:held_out])]


def _batch_sampler(config: TrainConfig, groups: list[PairGroup], batch_size: int | None = None) -> BatchSampler:
    return BatchSampler(groups, batch_size or config.batch_size, config.batching, config.alpha, config.seed,
                        config.languages)


def _align_sampler(config: TrainConfig, path: Path, seed: int) -> AlignSampler:
    return AlignSampler(read_translation_groups(path), config.align_batch_size, config.source_language, seed,
                        config.align_languages, what=str(path))


ValidationBatch = tuple[list[TrainingPair], list[tuple[str, str]] | None]


def _validation_batches(config: TrainConfig, groups: list[PairGroup]) -> list[ValidationBatch]:
    """Fixed batches drawn once, so every validation scores the same pairs (and translation pairs)."""
    if not groups:
        return []
    try:
        sampler = _batch_sampler(config, groups, min(config.batch_size, len(groups)))
    except EngineError as err:
        raise EngineError(f"validation data ({len(groups)} groups): {err}") from None
    align = None
    if config.align_validation_data:
        align = _align_sampler(config, config.align_validation_data, config.seed)
    return [(sampler.next_batch(), align and align.next_batch()) for _ in range(config.validation_batches)]


def _teacher(config: TrainConfig, encoder: DualEncoder, groups: list[PairGroup],
             validation: list[ValidationBatch], ranks: Ranks = ONE_PROCESS) -> Teacher:
    """The teacher, with its embedding of every text this run will see (fresh samplers with the run's
    seeds draw the run's batches). Rank 0 computes them into the teacher's cache first; the other ranks
    then read them from it."""
    base_dir = None if config.base_model == "default" else resolve_base_model(config.base_model, config.quiet)
    teacher = Teacher(teacher_bundle(config.teacher, config.base_model, base_dir, config.quiet))
    teacher.check_student(encoder.model.config.hidden_size, encoder.tokenizer.get_vocab())
    sampler = _batch_sampler(config, groups)
    batches = [sampler.next_batch() for _ in range(config.steps)] + [batch for batch, _ in validation]
    align_batches = [batch for _, batch in validation if batch]
    if config.align_data:
        align = _align_sampler(config, config.align_data, config.seed)
        align_batches += [align.next_batch() for _ in range(config.steps)]
    queries = {(pair.query, encoder.max_query_length) for batch in batches for pair in batch}
    passages = {(text, encoder.max_passage_length) for batch in batches for pair in batch
                for text in (pair.passage, *pair.negatives)}
    passages |= {(source, encoder.max_passage_length) for batch in align_batches for source, _ in batch}
    from tqdm.auto import tqdm

    for turn in ("main", "others"):
        if (turn == "main") == ranks.is_main:
            with tqdm(total=len(queries) + len(passages), desc="teacher embeddings", unit="text",
                      disable=config.quiet or not ranks.is_main) as bar:
                teacher.prepare(queries, teacher.bundle.query_prefix, bar.update)
                teacher.prepare(passages, teacher.bundle.passage_prefix, bar.update)
        ranks.barrier()
    return teacher


def _batch_terms(forward, batch: list[TrainingPair], align: list[tuple[str, str]] | None, teacher: Teacher | None,
                 config: TrainConfig, device: torch.device, precision: str,
                 ranks: Ranks = ONE_PROCESS) -> dict[str, torch.Tensor]:
    """The loss terms of one global batch: contrastive, and with a teacher keep (and align, given translation
    pairs). This rank encodes its slice (train.distributed) with `forward` (a _TrainingForward, or DDP over
    one) and meets every rank's passages; each term is its local sum times world / global count, which in
    one process is the mean. The encoder runs in `precision`; the losses are computed in fp32."""
    start, stop = ranks.span(len(batch))
    local = batch[start:stop]
    align_local = align[slice(*ranks.span(len(align)))] if align else []
    with autocast(precision, device):
        queries, passages, aligned = forward([pair.query for pair in local],
                                             [pair.passage for pair in local] + _negatives(local),
                                             [target for _, target in align_local] + [source for source, _ in align_local]
                                             if teacher is not None else [])
    queries, passages = queries.float(), passages.float()
    positives = ranks.gather(passages[:len(local)], [stop - start for start, stop in ranks.spans(len(batch))])
    negatives = ranks.gather(passages[len(local):], [len(_negatives(batch[start:stop]))
                                                     for start, stop in ranks.spans(len(batch))])
    scale = ranks.world / len(batch)
    terms = {"contrastive": info_nce_loss(queries, positives, negatives if len(negatives) else None,
                                          config.temperature, first_target=start, reduction="sum") * scale}
    if teacher is None:
        return terms

    def targets(texts: list[str], prefix: str, length: int) -> torch.Tensor:
        return torch.from_numpy(teacher.get(texts, prefix, length)).to(device)

    bundle, encoder = teacher.bundle, getattr(forward, "module", forward).encoder
    kept = torch.tensor(_kept_rows(local, config.free_languages), device=queries.device)
    kept_count = sum(_kept_rows(batch, config.free_languages))
    terms["keep"] = anchor_distance(torch.cat([queries, passages])[kept], torch.cat([
        targets([pair.query for pair in local], bundle.query_prefix, encoder.max_query_length),
        targets([pair.passage for pair in local] + _negatives(local), bundle.passage_prefix,
                encoder.max_passage_length)])[kept], reduction="sum") * ranks.world / max(kept_count, 1)
    if align:
        terms["align"] = queries.new_zeros(())  # this rank's slice of the translation pairs may be empty
        if aligned is not None:
            sources = targets([source for source, _ in align_local], bundle.passage_prefix, encoder.max_passage_length)
            terms["align"] = anchor_distance(aligned.float(), torch.cat([sources, sources]),
                                             reduction="sum") * ranks.world / (2 * len(align))
    return terms


def _negatives(pairs: list[TrainingPair]) -> list[str]:
    return [negative for pair in pairs for negative in pair.negatives]


def _kept_rows(pairs: list[TrainingPair], free_languages: list[str] | None) -> list[bool]:
    """Which rows of torch.cat([queries, passages, negatives]) the keep term holds at the teacher's
    embedding: all but those in a free language (a negative is in its pair's passage language)."""
    free = set(free_languages or ())
    return ([pair.query_lang not in free for pair in pairs] + [pair.passage_lang not in free for pair in pairs]
            + [pair.passage_lang not in free for pair in pairs for _ in pair.negatives])


class _TrainingForward(torch.nn.Module):
    """One step's encoder passes as one forward call (queries; passages; translation pairs), so that
    DistributedDataParallel can wrap it."""

    def __init__(self, encoder: DualEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, queries: list[str], passages: list[str], aligned: list[str]):
        return (self.encoder.encode_queries(queries), self.encoder.encode_passages(passages),
                self.encoder.encode_passages(aligned) if aligned else None)


def training_step(encoder: DualEncoder, optimizer, batch: list[TrainingPair], align: list[tuple[str, str]] | None,
                  teacher: Teacher | None, config: TrainConfig, device: torch.device, precision: str,
                  forward=None, ranks: Ranks = ONE_PROCESS) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One optimizer step on one global batch (and its translation pairs); returns this rank's loss and its
    terms. `forward`: the DDP-wrapped _TrainingForward when training on several ranks."""
    encoder.train()
    terms = _batch_terms(forward or _TrainingForward(encoder), batch, align, teacher, config, device, precision,
                         ranks)
    loss = total_loss(terms, config.distill_weight)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(encoder.parameters(), config.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss, terms


def _validate(encoder, batches: list[ValidationBatch], teacher, config, progress, model_dir: Path, device,
              precision: str) -> None:
    """Record the validation loss (and its terms); keep the model when it is the best so far, stop when
    patience runs out."""
    encoder.eval()
    with torch.no_grad():
        terms = [_batch_terms(_TrainingForward(encoder), batch, align, teacher, config, device, precision)
                 for batch, align in batches]
        loss = float(np.mean([total_loss(batch_terms, config.distill_weight).item() for batch_terms in terms]))
    means = {name: float(np.mean([batch_terms[name].item() for batch_terms in terms if name in batch_terms]))
             for name in dict.fromkeys(name for batch_terms in terms for name in batch_terms)}
    progress["validation"].append({"step": progress["step"], "loss": loss, **means})
    if progress["best"] is None or loss < progress["best"]:
        progress["best"], progress["bad_validations"] = loss, 0
        with replace_dir(model_dir) as temp:
            encoder.save(temp)
    else:
        progress["bad_validations"] += 1
        progress["stopped_early"] = progress["bad_validations"] >= config.patience


def _save_checkpoint(encoder, checkpoint: Path, optimizer, scheduler, sampler_states: dict, progress) -> None:
    with replace_dir(checkpoint) as temp:
        encoder.save(temp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), **sampler_states,
                    "torch_rng": torch.get_rng_state(), "progress": progress}, temp / TRAINER_STATE_FILE)


def _linear_warmup_schedule(optimizer, warmup_steps: int, total_steps: int):
    """Linear rise to the full learning rate over `warmup_steps`, then linear decay to zero."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _progress_bar(config: TrainConfig, start: int, ranks: Ranks):
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, initial=start, desc="training", unit="step",
                disable=config.quiet or not ranks.is_main)


def json_config(config: TrainConfig) -> dict:
    return {key: str(value) if isinstance(value, Path) else value for key, value in asdict(config).items()}
