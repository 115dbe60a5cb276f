"""Data-parallel training on 2 CPU ranks (gloo): the same loss and gradients as one process on the
whole batch, and a real `torchrun -m train` run."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from export.parity_texts import PASSAGES, QUERIES
from train.anchoring import total_loss
from train.distributed import ONE_PROCESS, join_process_group, leave_process_group
from train.samplers import TrainingPair
from train.trainer import LOG_FILE, TrainConfig, _batch_terms, _TrainingForward

GLOBAL_BATCH = 32


def _batch():
    """32 pairs; only the first five carry a hard negative, so the ranks hold different numbers of them."""
    return [TrainingPair(QUERIES[n % len(QUERIES)], "en", PASSAGES[n % len(PASSAGES)], "de",
                         (PASSAGES[(n + 40) % len(PASSAGES)],) if n < 5 else ()) for n in range(GLOBAL_BATCH)]


def _align():
    return [(PASSAGES[n], PASSAGES[n + 20]) for n in range(6)]


def _loss_and_grads(ranks, model_dir, bundle, cache):
    from train.dual_encoder import DualEncoder
    from train.teacher import Teacher

    torch.manual_seed(0)
    encoder = DualEncoder(model_dir, 16, 24)
    encoder.eval()  # no dropout, so that both runs compute the same network
    teacher = Teacher(bundle, cache_root=cache)
    batch, align = _batch(), _align()
    teacher.prepare({(pair.query, 16) for pair in batch}, teacher.bundle.query_prefix)
    teacher.prepare({(text, 24) for pair in batch for text in (pair.passage, *pair.negatives)} |
                    {(source, 24) for source, _ in align}, teacher.bundle.passage_prefix)
    forward = _TrainingForward(encoder)
    if ranks.world > 1:
        forward = torch.nn.parallel.DistributedDataParallel(forward, find_unused_parameters=True)
    config = TrainConfig(data=cache, out_dir=cache, distill_weight=2.0)
    terms = _batch_terms(forward, batch, align, teacher, config, torch.device("cpu"), "fp32", ranks)
    loss = total_loss(terms, config.distill_weight)
    loss.backward()
    grads = {name: parameter.grad.clone() for name, parameter in encoder.named_parameters()
             if parameter.grad is not None}
    return {name: ranks.mean(term.item()) for name, term in {"loss": loss, **terms}.items()}, grads


def _rank(rank, world, port, model_dir, bundle, cache, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    ranks = join_process_group(cuda=False)
    losses, grads = _loss_and_grads(ranks, model_dir, bundle, cache)
    if ranks.is_main:
        torch.save({"losses": losses, "grads": grads}, out)
    leave_process_group(ranks)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_ranks_of_16_give_the_loss_and_gradients_of_one_of_32(tiny_model_dir, tiny_bundle, tmp_path):
    import torch.multiprocessing as mp

    cache = tmp_path / "teacher-cache"
    single_losses, single_grads = _loss_and_grads(ONE_PROCESS, tiny_model_dir, tiny_bundle, cache)
    mp.spawn(_rank, args=(2, _free_port(), str(tiny_model_dir), str(tiny_bundle), cache, tmp_path / "rank0.pt"),
             nprocs=2, join=True)
    two = torch.load(tmp_path / "rank0.pt")
    assert set(single_losses) == {"loss", "contrastive", "keep", "align"}
    for name, value in single_losses.items():
        assert two["losses"][name] == pytest.approx(value, rel=1e-5, abs=1e-7), name
    assert set(two["grads"]) == set(single_grads)
    for name, grad in single_grads.items():
        # An entry of a gradient sums over many tokens, so float32 rounding follows the tensor's largest entry,
        # not each entry (token_type_embeddings sums the whole batch into one row; measured: up to 1.3e-6 of it).
        tolerance = 1e-5 * float(grad.abs().max()) + 1e-9
        torch.testing.assert_close(two["grads"][name], grad, rtol=0, atol=tolerance, msg=name)


def test_torchrun_trains_on_two_ranks_and_rank_0_writes_the_run(tiny_model_dir, tmp_path):
    from tests.train.test_trainer import write_pairs

    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "train", "--data", str(write_pairs(tmp_path)),
               "--out", str(out), "--base", str(tiny_model_dir), "--batch-size", "4", "--steps", "4",
               "--validation-fraction", "0.25", "--validate-every", "2", "--precision", "fp32", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    log = json.loads((out / LOG_FILE).read_text(encoding="utf-8"))
    assert log["ranks"] == 2 and log["step"] == 4 and len(log["validation"]) == 2
    assert (out / "model" / "config.json").is_file() and (out / "checkpoint" / "trainer_state.pt").is_file()


def test_a_batch_smaller_than_the_ranks_is_refused(tiny_model_dir, tmp_path):
    from tests.train.test_trainer import write_pairs

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "train", "--data", str(write_pairs(tmp_path)),
               "--out", str(tmp_path / "run"), "--base", str(tiny_model_dir), "--batch-size", "1", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "error: batch size 1 is smaller than the 2 ranks" in result.stderr
