"""CPU training throughput: one optimizer step of the experiment's recipe, fp32 against bf16 autocast and
against freezing the lower layers (train.dual_encoder.DualEncoder.freeze_lower_layers).

The recipe is the experiment's budget (train/experiment.py Budget): the default model, hybrid batches
of 32 pairs from the training pair sources (MLQA-R training half + NTREX-128), queries cut at 32
tokens and passages at 64, word embeddings frozen, AdamW. Each recipe starts from the base model
and runs the same batches in the same order. `fp32` is the recipe before bf16 (what `--precision
fp32` runs); `bf16` is `--precision bf16` (autocast, attention on the math backend: train/precision.py);
`*-lower-half-frozen` and `*-lower-three-quarters-frozen` also keep that share of the transformer layers fixed
(`--freeze-layers 6` and `9` of the default model's 12): a recipe change, judged by the experiment.

Run (full size; about 5 minutes on 2 cores):
  OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ENGINE_DATA_DIR=../shared/data .venv/bin/python -m pytest \
      benchmarks/test_training_step.py --benchmark-enable --benchmark-json=training-step.json
ENGINE_BENCH_TRAIN_STEPS (default 8) timed steps per recipe after one warm-up step. extra_info has
pairs/s and, for every recipe but fp32, the speed-up over fp32 measured in the same run. In smoke mode
(--benchmark-disable) each runs once on the tiny random model and synthetic pairs.
"""

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from benchmarks.run_mode import smoke_mode  # noqa: E402
from engine.machine import machine  # noqa: E402
from train.experiment import Budget  # noqa: E402
from train.precision import cpu_has_native_bf16  # noqa: E402

BUDGET = Budget()
MEDIAN_SECONDS: dict[str, float] = {}  # per recipe, so each can report its ratio to fp32


@pytest.fixture(scope="session")
def recipe(pytestconfig, tmp_path_factory):
    """(base model dir, pair groups, batch size) for the run's size."""
    from train.pairs import Pair, PairGroup

    if smoke_mode(pytestconfig):
        from export.parity_texts import PASSAGES, QUERIES
        from tests.conftest import build_tiny_model_dir

        groups = [PairGroup(f"g{n}", {"en": Pair(QUERIES[n], PASSAGES[n]), "de": Pair(QUERIES[n + 8], PASSAGES[n + 8])})
                  for n in range(8)]
        return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-train")), groups, 4
    from export.base_models import resolve_base_model
    from train.builders import PUBLIC_PAIR_SOURCES, public_pair_groups

    if not os.environ.get("ENGINE_DATA_DIR"):
        pytest.skip("the full-size training benchmark reads its pairs from ENGINE_DATA_DIR, which is unset")
    return resolve_base_model("default"), public_pair_groups(PUBLIC_PAIR_SOURCES), BUDGET.batch_size


# name: (precision, the fraction of the lowest transformer layers frozen with the embeddings). `fp32` is
# today's recipe, the baseline of every ratio.
RECIPES = {"fp32": ("fp32", 0.0), "bf16": ("bf16", 0.0), "fp32-lower-half-frozen": ("fp32", 0.5),
           "fp32-lower-three-quarters-frozen": ("fp32", 0.75), "bf16-lower-half-frozen": ("bf16", 0.5)}


@pytest.mark.parametrize("name", list(RECIPES))
def test_training_step(benchmark, recipe, pytestconfig, name):
    from train.dual_encoder import DualEncoder
    from train.samplers import BatchSampler
    from train.trainer import TrainConfig, training_step

    precision, frozen_fraction = RECIPES[name]
    if precision == "bf16" and not cpu_has_native_bf16():
        pytest.skip("this CPU has neither avx512_bf16 nor amx_bf16, so bf16 training is refused here")
    model_dir, groups, batch_size = recipe
    device = torch.device("cpu")
    config = TrainConfig(data="unused", out_dir="unused", batch_size=batch_size,
                         learning_rate=BUDGET.learning_rate, max_query_length=BUDGET.max_query_length,
                         max_passage_length=BUDGET.max_passage_length)
    torch.manual_seed(0)
    encoder = DualEncoder(model_dir, config.max_query_length, config.max_passage_length)
    encoder.freeze_word_embeddings()
    frozen_layers = int(frozen_fraction * encoder.model.config.num_hidden_layers)
    encoder.freeze_lower_layers(frozen_layers)
    optimizer = torch.optim.AdamW([p for p in encoder.parameters() if p.requires_grad], lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    sampler = BatchSampler(groups, batch_size, "hybrid", BUDGET.alpha, seed=0)
    losses = []

    def step():
        loss, _ = training_step(encoder, optimizer, sampler.next_batch(), None, None, config, device,
                                precision)
        losses.append(loss.item())

    rounds = 1 if smoke_mode(pytestconfig) else int(os.environ.get("ENGINE_BENCH_TRAIN_STEPS", "8"))
    benchmark.pedantic(step, rounds=rounds, warmup_rounds=0 if smoke_mode(pytestconfig) else 1, iterations=1)
    assert all(loss == loss for loss in losses), "a step returned NaN"
    benchmark.extra_info.update({**machine(), "torch_threads": torch.get_num_threads(), "precision": precision,
                                 "frozen_layers": frozen_layers,
                                 "batch_size": batch_size, "max_query_length": config.max_query_length,
                                 "max_passage_length": config.max_passage_length, "mean_loss": sum(losses) / len(losses)})
    if benchmark.stats is not None:
        median = benchmark.stats.stats.median
        MEDIAN_SECONDS[name] = median
        benchmark.extra_info["pairs_per_s"] = batch_size / median
        if name != "fp32" and "fp32" in MEDIAN_SECONDS:
            benchmark.extra_info["speedup_vs_fp32"] = MEDIAN_SECONDS["fp32"] / median
