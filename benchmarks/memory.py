"""Memory and disk figures for the index benchmarks: resident memory, its growth across a block
(loading an index), size on disk, and what hnswlib's own layout predicts per vector."""

from __future__ import annotations

import ctypes
import gc
from pathlib import Path

import psutil

MB = 1 << 20
MUTEX_BYTES = 40             # sizeof(std::mutex) on Linux x86-64: hnswlib keeps one per element
LABEL_MAP_ENTRY_BYTES = 40   # ~ one std::unordered_map node (32 after malloc rounding) and its bucket
VISITED_LIST_BYTES = 2       # one unsigned short per element in hnswlib's pooled visited list
LABEL_OP_LOCKS_BYTES = 65536 * MUTEX_BYTES  # hnswlib's fixed pool of label-operation locks, 2.6 MB per index


def release_free_heap() -> None:
    """Hand glibc's freed heap back to the system (malloc_trim): a build frees its temporary
    buffers, but glibc keeps them mapped and RSS would count them as the index's memory."""
    gc.collect()
    malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    if malloc_trim is not None:
        malloc_trim(0)


def rss_bytes() -> int:
    return psutil.Process().memory_info().rss


def rss_mb() -> float:
    return round(rss_bytes() / MB, 1)


class RssGrowth:
    """Resident memory gained across a block, such as loading an index, with freed heap released on
    both sides. Memory-mapped files count only for the pages the block touched."""

    def __enter__(self) -> RssGrowth:
        release_free_heap()
        self.before = rss_bytes()
        self.bytes = 0
        return self

    def __exit__(self, *exc) -> None:
        release_free_heap()
        self.bytes = rss_bytes() - self.before


def disk_bytes(path: Path) -> int:
    """Size of a file, or of every file under a dir."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def hnswlib_bytes_per_vector(dimension: int, M: int, count: int) -> float:
    """hnswlib 0.8's memory per element of a `count`-element index: the level-0 block (float32
    vector, 2*M links and their count, 8-byte label), the expected upper-level link lists (an
    element reaches level l with probability M**-l, each level holding M links and a count), the
    level and link-list pointer, a mutex, a label-map entry, a visited-list slot, and a share of
    the fixed label-lock pool."""
    level0 = 4 * dimension + 4 * (2 * M) + 4 + 8
    upper_levels = (4 * M + 4) / (M - 1)
    bookkeeping = 4 + 8 + MUTEX_BYTES + LABEL_MAP_ENTRY_BYTES + VISITED_LIST_BYTES
    return level0 + upper_levels + bookkeeping + LABEL_OP_LOCKS_BYTES / count
