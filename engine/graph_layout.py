"""Lay a saved hnswlib graph out in label order.

hnswlib stores node i of its graph at the i-th place in memory, in insertion order. engine.index
inserts in a random order, which builds a much better graph than a collection's own order, but
then a search's neighbours lie scattered across memory. Labels follow the collection's order, where
neighbours (one document's passages, one language's) sit close together; renumbering the nodes by
label gives searches that locality back without changing the graph (same links, same hits):
docs/benchmarks/hnsw-graphs.

This rewrites hnswlib's index file (hnswalg.h saveIndex/loadIndex, hnswlib 0.8, pinned in
constraints.txt): a header, one fixed-size level-0 block per node (a link count whose upper bits
carry hnswlib's deleted mark, the links, the vector, the label), then per node its upper levels'
link lists. Only node ids move: every link, flag, vector and label is kept.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from engine.errors import EngineError

HEADER = struct.Struct("<6QiI3QdQ")  # offsetLevel0 ... ef_construction: 96 bytes
_SIZE = struct.Struct("<I")  # bytes of a node's upper-level link lists
_COUNT_MASK = 0xFFFF  # the link count; hnswlib's flags (the deleted mark) sit above it
_CHUNK_BYTES = 64 * 2**20  # level-0 blocks gathered per write


def order_by_label(path: Path) -> None:
    """Rewrite the hnswlib index file at `path` with its nodes numbered in label order."""
    path = Path(path)
    temp = path.with_name(path.name + ".layout")
    try:
        _write_in_label_order(path, temp)
    except (struct.error, ValueError) as err:  # a truncated or inconsistent file
        raise EngineError(f"{path}: not an hnswlib 0.8 index file this engine can lay out ({err})") from None
    finally:
        temp.unlink(missing_ok=True)  # left only when writing failed


def _write_in_label_order(path: Path, temp: Path) -> None:
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (offset_level0, _, count, block_size, label_offset, offset_data, _, entry_point,
     max_links, max_links0, _, _, _) = fields = HEADER.unpack_from(raw, 0)
    level0_end = HEADER.size + count * block_size
    if (offset_level0 != 0 or offset_data != 4 * (max_links0 + 1) or label_offset != block_size - 8
            or level0_end > len(raw)):
        raise ValueError("unexpected header")
    blocks = raw[HEADER.size:level0_end].reshape(count, block_size)
    labels = blocks[:, label_offset:].copy().view(np.uint64).ravel()
    old_of_new = np.argsort(labels, kind="stable")
    new_of_old = np.empty(count, dtype=np.uint32)
    new_of_old[old_of_new] = np.arange(count, dtype=np.uint32)
    starts, sizes = _upper_link_lists(raw, level0_end, count, 4 * (max_links + 1))
    rows_per_chunk = max(1, _CHUNK_BYTES // max(block_size, 1))

    with open(temp, "wb") as out:
        out.write(HEADER.pack(*fields[:7], int(new_of_old[entry_point]) if count else entry_point, *fields[8:]))
        for start in range(0, count, rows_per_chunk):
            chunk = blocks[old_of_new[start:start + rows_per_chunk]]  # fancy indexing copies
            _renumber(chunk[:, :offset_data].view(np.uint32), new_of_old)
            out.write(chunk)
        for old in old_of_new:
            size = int(sizes[old])
            out.write(_SIZE.pack(size))
            if size:  # most nodes live on level 0 alone
                links = np.array(raw[starts[old]:starts[old] + size]).view(np.uint32).reshape(-1, max_links + 1)
                _renumber(links, new_of_old)
                out.write(links)
    del blocks, raw
    temp.replace(path)


def _upper_link_lists(raw: np.ndarray, position: int, count: int, level_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and size in bytes of each node's upper-level link lists, in file order."""
    starts, sizes = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    for node in range(count):
        (size,) = _SIZE.unpack_from(raw, position)
        if size % level_bytes:
            raise ValueError(f"node {node}: upper-level links of {size} bytes")
        starts[node], sizes[node] = position + 4, size
        position += 4 + size
    if position != len(raw):
        raise ValueError("unexpected length")
    return starts, sizes


def _renumber(lists: np.ndarray, new_of_old: np.ndarray) -> None:
    """In place: map the valid ids of each link list (row: header, then ids) to their new numbers."""
    valid = np.arange(lists.shape[1] - 1)[None, :] < (lists[:, :1] & _COUNT_MASK)
    ids = lists[:, 1:]
    ids[valid] = new_of_old[ids[valid]]
