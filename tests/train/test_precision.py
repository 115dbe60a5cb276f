import pytest
import torch

from engine.errors import EngineError
from train.precision import autocast, cpu_has_native_bf16, resolve_precision

CPU = torch.device("cpu")


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("flags, native", [("avx2 avx512f avx512_bf16", True), ("avx512f amx_tile amx_bf16", True),
                                           ("avx2 avx512f", False), ("avx512_bf16x", False)])
def test_native_bf16_is_read_off_the_cpu_flags(tmp_path, flags, native):
    assert cpu_has_native_bf16(_cpuinfo(tmp_path, flags)) is native


def test_no_cpuinfo_means_no_native_bf16(tmp_path):
    assert cpu_has_native_bf16(tmp_path / "missing") is False


@pytest.mark.parametrize("requested, native, resolved", [("auto", True, "bf16"), ("auto", False, "fp32"),
                                                         ("fp32", True, "fp32"), ("bf16", True, "bf16")])
def test_auto_takes_bf16_only_where_it_is_native(requested, native, resolved):
    assert resolve_precision(requested, CPU, native_cpu_bf16=native) == resolved


def test_explicit_bf16_without_native_support_is_refused():
    with pytest.raises(EngineError, match="not native on this CPU"):
        resolve_precision("bf16", CPU, native_cpu_bf16=False)


def test_unknown_precision_is_refused():
    with pytest.raises(EngineError, match="precision must be one of auto, fp32, bf16"):
        resolve_precision("fp16", CPU, native_cpu_bf16=True)


def test_bf16_autocast_runs_linear_layers_in_bf16_and_fp32_leaves_them():
    layer = torch.nn.Linear(8, 4)
    inputs = torch.randn(2, 8)
    with autocast("bf16", CPU):
        assert layer(inputs).dtype == torch.bfloat16
    with autocast("fp32", CPU):
        assert layer(inputs).dtype == torch.float32


def test_bf16_attention_matches_fp32_within_bf16_rounding():
    # The bf16 context routes scaled-dot-product attention to the math backend (see train/precision.py);
    # its forward and gradients must agree with fp32's to bf16's ~3 significant digits.
    torch.manual_seed(0)
    query, key, value = (torch.randn(2, 4, 16, 8, requires_grad=True) for _ in range(3))
    results = {}
    for precision in ("fp32", "bf16"):
        with autocast(precision, CPU):
            out = torch.nn.functional.scaled_dot_product_attention(query, key, value)
        (grad,) = torch.autograd.grad(out.float().sum(), query)
        results[precision] = out.float(), grad
    assert torch.allclose(results["bf16"][0], results["fp32"][0], atol=0.05)
    assert torch.allclose(results["bf16"][1], results["fp32"][1], atol=0.05)
