"""Contrastive fine-tuning of a dual encoder on parallel pair groups (the seed paper's method).

Writes into `out_dir`:
- `model/`: the best model by validation loss (the last one without validation), an HF model dir
  that `export.bundle_writer.export_bundle` takes as it is;
- `checkpoint/`: the latest state, the same HF model dir plus `trainer_state.pt` (optimizer,
  scheduler, step, sampler and RNG state, history) to resume from;
- `training_log.json` and `training_curve.png`.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.atomic_dir import replace_dir
from engine.errors import EngineError
from train.base_models import resolve_base_model
from train.dual_encoder import DualEncoder
from train.loss import DEFAULT_TEMPERATURE, info_nce_loss
from train.pairs import PairGroup, read_pair_groups
from train.samplers import BatchSampler, TrainingPair
from train.training_report import plot_training_curve, write_training_log

MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE_FILE = "trainer_state.pt"
LOG_FILE = "training_log.json"
CURVE_FILE = "training_curve.png"


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
    languages: list[str] | None = None  # train on these languages' pairs only (default: all)
    # Validation: a separate pair file, else this fraction of the training groups held out.
    validation_data: Path | None = None
    validation_fraction: float = 0.05
    validation_batches: int = 4
    validate_every: int = 50
    patience: int = 3
    checkpoint_every: int = 50
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
    checkpoint = out_dir / CHECKPOINT_DIR
    resuming = config.resume and (checkpoint / TRAINER_STATE_FILE).is_file()
    if config.resume and not resuming:
        raise EngineError(f"cannot resume: {checkpoint / TRAINER_STATE_FILE} does not exist")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    base = checkpoint if resuming else resolve_base_model(config.base_model, quiet=config.quiet)
    encoder = DualEncoder(base, config.max_query_length, config.max_passage_length).to(device)
    if config.freeze_embeddings:
        encoder.freeze_word_embeddings()
    sampler = BatchSampler(groups, config.batch_size, config.batching, config.alpha, config.seed, config.languages)
    validation = _validation_batches(config, validation_groups)
    optimizer = torch.optim.AdamW([p for p in encoder.parameters() if p.requires_grad],
                                  lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = _linear_warmup_schedule(optimizer, math.ceil(config.warmup_ratio * config.steps), config.steps)
    progress = {"step": 0, "train": [], "validation": [], "best": None, "bad_validations": 0, "stopped_early": False,
                "wall_s": 0.0}  # training time, summed over resumed sessions
    if resuming:
        state = torch.load(checkpoint / TRAINER_STATE_FILE, weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.load_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        progress = state["progress"]

    bar = _progress_bar(config, progress["step"])
    session_start, session_base = time.perf_counter(), progress.get("wall_s", 0.0)
    while progress["step"] < config.steps and not progress["stopped_early"]:
        encoder.train()
        loss = _batch_loss(encoder, sampler.next_batch(), config.temperature, device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        progress["step"] += 1
        step = progress["step"]
        progress["train"].append({"step": step, "loss": loss.item(), "lr": scheduler.get_last_lr()[0]})
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if validation and (step % config.validate_every == 0 or step == config.steps):
            _validate(encoder, validation, config, progress, out_dir / MODEL_DIR, device)
        progress["wall_s"] = session_base + time.perf_counter() - session_start
        if step % config.checkpoint_every == 0 or step == config.steps or progress["stopped_early"]:
            _save_checkpoint(encoder, checkpoint, optimizer, scheduler, sampler, progress)
    bar.close()
    if not validation:
        with replace_dir(out_dir / MODEL_DIR) as temp:
            encoder.save(temp)
    write_training_log(out_dir / LOG_FILE, {"config": json_config(config), "base_model": str(base), **progress})
    plot_training_curve(out_dir / CURVE_FILE, progress["train"], progress["validation"])
    return TrainResult(out_dir / MODEL_DIR, progress["step"], progress["best"], progress["stopped_early"])


def _check_config(config: TrainConfig) -> None:
    for name in ("steps", "validate_every", "checkpoint_every", "validation_batches", "patience",
                 "max_query_length", "max_passage_length"):
        if getattr(config, name) < 1:
            raise EngineError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0.0 <= config.validation_fraction < 1.0:
        raise EngineError(f"validation_fraction must be in [0, 1), got {config.validation_fraction}")
    if config.temperature <= 0:
        raise EngineError(f"temperature must be positive, got {config.temperature}")


def _training_and_validation_groups(config: TrainConfig) -> tuple[list[PairGroup], list[PairGroup]]:
    groups = read_pair_groups(config.data)
    if config.validation_data is not None:
        return groups, read_pair_groups(config.validation_data)
    held_out = math.floor(config.validation_fraction * len(groups))
    order = np.random.default_rng(config.seed).permutation(len(groups))
    return [groups[i] for i in sorted(order[held_out:])], [groups[i] for i in sorted(order[:held_out])]


def _validation_batches(config: TrainConfig, groups: list[PairGroup]) -> list[list[TrainingPair]]:
    """Fixed batches drawn once, so every validation scores the same pairs."""
    if not groups:
        return []
    try:
        sampler = BatchSampler(groups, min(config.batch_size, len(groups)), config.batching, config.alpha,
                               config.seed, config.languages)
    except EngineError as err:
        raise EngineError(f"validation data ({len(groups)} groups): {err}") from None
    return [sampler.next_batch() for _ in range(config.validation_batches)]


def _batch_loss(encoder: DualEncoder, batch: list[TrainingPair], temperature: float,
                device: torch.device) -> torch.Tensor:
    # bf16 autocast on CUDA needs no loss scaling; CPU training stays fp32.
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    with autocast:
        queries = encoder.encode_queries([pair.query for pair in batch])
        passages = encoder.encode_passages([pair.passage for pair in batch])
        negative_texts = [negative for pair in batch for negative in pair.negatives]
        negatives = encoder.encode_passages(negative_texts) if negative_texts else None
    return info_nce_loss(queries.float(), passages.float(), None if negatives is None else negatives.float(),
                         temperature)


def _validate(encoder, batches, config, progress, model_dir: Path, device) -> None:
    """Record the validation loss; keep the model when it is the best so far, stop when patience runs out."""
    encoder.eval()
    with torch.no_grad():
        loss = float(np.mean([_batch_loss(encoder, batch, config.temperature, device).item() for batch in batches]))
    progress["validation"].append({"step": progress["step"], "loss": loss})
    if progress["best"] is None or loss < progress["best"]:
        progress["best"], progress["bad_validations"] = loss, 0
        with replace_dir(model_dir) as temp:
            encoder.save(temp)
    else:
        progress["bad_validations"] += 1
        progress["stopped_early"] = progress["bad_validations"] >= config.patience


def _save_checkpoint(encoder, checkpoint: Path, optimizer, scheduler, sampler, progress) -> None:
    with replace_dir(checkpoint) as temp:
        encoder.save(temp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "sampler": sampler.state(), "torch_rng": torch.get_rng_state(), "progress": progress},
                   temp / TRAINER_STATE_FILE)


def _linear_warmup_schedule(optimizer, warmup_steps: int, total_steps: int):
    """Linear rise to the full learning rate over `warmup_steps`, then linear decay to zero."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _progress_bar(config: TrainConfig, start: int):
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, initial=start, desc="training", unit="step", disable=config.quiet)


def json_config(config: TrainConfig) -> dict:
    return {key: str(value) if isinstance(value, Path) else value for key, value in asdict(config).items()}
