"""Shared by the experiment tests: a tiny budget, and an experiment dir over a tiny XQuAD-R."""

import pytest

from export.parity_texts import PASSAGES, QUERIES
from tests.engine.evaluation.conftest import write_lareqa
from train.experiment import Budget, EvalSpec, Experiment, configurations_named
from train.pairs import Pair, PairGroup, write_pair_groups

TINY_BUDGET = Budget(steps=2, batch_size=4, max_query_length=16, max_passage_length=32, validate_every=1)


@pytest.fixture
def experiment_dir(tmp_path, monkeypatch):
    """An experiment dir whose pair file is already built, and a data dir holding a tiny XQuAD-R."""
    monkeypatch.setenv("ENGINE_DATA_DIR", str(write_lareqa(tmp_path / "data")))
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "experiment"
    groups = [PairGroup(f"g{n}", {"en": Pair(QUERIES[n], PASSAGES[n]), "de": Pair(QUERIES[n + 8], PASSAGES[n + 8])})
              for n in range(8)]
    (out / "pairs").mkdir(parents=True)
    write_pair_groups(out / "pairs" / "mlqa-r+ntrex128.jsonl", groups)
    return out


def tiny_experiment(out, tiny_model_dir, budget=TINY_BUDGET, configs=("hybrid",)):
    return Experiment(out_dir=out, configurations=configurations_named(list(configs)), seeds=(0,), budget=budget,
                      evals=(EvalSpec("xquad-r", ("en", "de")),), base_model=str(tiny_model_dir), quiet=True)
