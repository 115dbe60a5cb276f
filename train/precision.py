"""Training precision: fp32, or bf16 autocast where the hardware computes bf16 natively.

bf16 needs no loss scaling (its exponent range is fp32's). On CPU it pays only with avx512_bf16 or
AMX instructions; without them oneDNN emulates bf16 and a step gets slower, so `auto` keeps fp32 there.
torch is imported only when used, so the CLI can list the choices cheaply.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path

from engine.errors import EngineError
from engine.machine import CPUINFO, cpu_flags

PRECISIONS = ("auto", "fp32", "bf16")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def training_device():
    """The first CUDA GPU when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_has_native_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """True when the CPU flags list avx512_bf16 or amx_bf16 (Linux; elsewhere False)."""
    return any(flag in cpu_flags(cpuinfo) for flag in CPU_BF16_FLAGS)


def resolve_precision(requested: str, device, native_cpu_bf16: bool | None = None) -> str:
    """`auto` → bf16 on CUDA and on a CPU with native bf16, else fp32; an explicit bf16 the device
    cannot compute natively is refused rather than run slowly."""
    if requested not in PRECISIONS:
        raise EngineError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested == "fp32":
        return "fp32"
    if device.type == "cuda":
        import torch

        native = torch.cuda.is_bf16_supported()
        where = "this GPU"
    else:
        native = cpu_has_native_bf16() if native_cpu_bf16 is None else native_cpu_bf16
        where = f"this CPU (it lacks {' and '.join(CPU_BF16_FLAGS)})"
    if requested == "bf16" and not native:
        raise EngineError(f"bf16 training is not native on {where}: use --precision fp32 or auto")
    return "bf16" if native else "fp32"


def autocast(precision: str, device) -> AbstractContextManager:
    """The forward passes' context for a resolved precision (on a torch.device)."""
    if precision != "bf16":
        return nullcontext()
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    stack = ExitStack()
    stack.enter_context(torch.autocast(device.type, dtype=torch.bfloat16))
    if device.type == "cpu":
        # The CPU flash-attention kernel's bf16 backward has no AMX path: it took 45% of a bf16 step and
        # made bf16 no faster than fp32 (Xeon with AMX, torch 2.13). The math backend's matmuls use AMX.
        stack.enter_context(sdpa_kernel(SDPBackend.MATH))
    return stack
