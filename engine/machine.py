"""The machine and thread settings that every benchmark and experiment report records beside its figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                        platform.processor() or "unknown")
    except OSError:  # not Linux
        return platform.processor() or "unknown"


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The instruction-set flags /proc/cpuinfo lists (avx512f, avx512_vnni, amx_bf16, ...); empty off Linux."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def machine() -> dict:
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} logical cores, {cpu_model()}",
        "python": platform.python_version(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "unset"),
    }
