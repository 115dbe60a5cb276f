import struct

import numpy as np
import pytest

from engine.errors import EngineError
from export.e5s1 import DTYPE_F32, DTYPE_Q4_0, dequantize_q4_0, read_e5s1


def q4_block(scale: float, nibbles_low: list[int], nibbles_high: list[int]) -> bytes:
    packed = bytes(low | (high << 4) for low, high in zip(nibbles_low, nibbles_high))
    return np.float16(scale).tobytes() + packed


def test_dequantize_one_block_low_nibbles_first_then_high():
    low = list(range(16))             # weights 0..15
    high = [15 - i for i in range(16)]  # weights 16..31
    weights = dequantize_q4_0(q4_block(0.5, low, high), 32)
    expected = [(q - 8) * 0.5 for q in low + high]
    np.testing.assert_array_equal(weights, np.array(expected, dtype=np.float32))


def test_dequantize_uses_each_blocks_own_scale():
    raw = q4_block(2.0, [9] * 16, [7] * 16) + q4_block(-0.25, [0] * 16, [15] * 16)
    weights = dequantize_q4_0(raw, 64)
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights[:16], 2.0)
    np.testing.assert_array_equal(weights[16:32], -2.0)
    np.testing.assert_array_equal(weights[32:48], 2.0)     # (0 - 8) * -0.25
    np.testing.assert_array_equal(weights[48:], -1.75)     # (15 - 8) * -0.25


def test_dequantize_rejects_partial_blocks():
    with pytest.raises(EngineError, match="32-weight blocks"):
        dequantize_q4_0(b"\0" * 18, 20)


def write_e5s1(path, tensors: dict[str, tuple[int, bytes, int]]) -> None:
    """A minimal E5S1 file: 3 pieces, one normalisation rule, the given (dtype, bytes, count) tensors."""
    pieces = ["<s>", "</s>", "\u2581héllo"]
    blob = "".join(pieces).encode("utf-8")
    offsets = np.cumsum([0] + [len(piece.encode("utf-8")) for piece in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, 32, 1, 1, 64, 3, 8, 2, 1e-12, 32)
    head += struct.pack("<5iQ", 3, 0, 1, 1, 2, len(blob)) + offsets.tobytes()
    head += np.array([0.0, 0.0, -1.5], dtype="<f4").tobytes() + blob
    rule = struct.pack("<IB2I", 0xFB01, 2, ord("f"), ord("i"))  # the "ﬁ" ligature → "fi"
    head += struct.pack("<iI", 1, len(rule)) + rule + struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(name) + 21 for name in tensors)
    offset = -(-(len(head) + directory_size) // 64) * 64
    directory, data = b"", b""
    for name, (dtype, raw, count) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        padded = raw + b"\0" * (-len(raw) % 64)
        data += padded
        offset += len(padded)
    start = len(head) + len(directory)
    path.write_bytes(head + directory + b"\0" * (-start % 64) + data)


def test_read_e5s1_header_vocabulary_normalisation_and_tensors(tmp_path):
    path = tmp_path / "model.bin"
    bias = np.arange(4, dtype="<f4")
    write_e5s1(path, {"l0.q.b": (DTYPE_F32, bias.tobytes(), 4),
                      "l0.q.w": (DTYPE_Q4_0, q4_block(1.0, [8] * 16, [9] * 16), 32)})
    model = read_e5s1(path)
    assert (model.header.hidden_size, model.header.vocab_size, model.header.layer_norm_eps) == (32, 3, 1e-12)
    assert model.vocabulary.pieces == ["<s>", "</s>", "\u2581héllo"]
    np.testing.assert_array_equal(model.vocabulary.scores, [0.0, 0.0, -1.5])
    assert (model.vocabulary.bos_id, model.vocabulary.eos_id, model.vocabulary.unk_id) == (0, 1, 2)
    assert model.normalization == {0xFB01: (ord("f"), ord("i"))}
    np.testing.assert_array_equal(model.tensor("l0.q.b"), bias)
    np.testing.assert_array_equal(model.tensor("l0.q.w"), [0.0] * 16 + [1.0] * 16)
    with pytest.raises(EngineError, match="no tensor named 'nope'"):
        model.tensor("nope")


def test_read_e5s1_rejects_other_files(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(EngineError, match="not an E5S1 model file"):
        read_e5s1(path)


def test_read_e5s1_reports_truncation(tmp_path):
    path = tmp_path / "model.bin"
    write_e5s1(path, {"l0.q.b": (DTYPE_F32, b"\0" * 16, 4)})
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(EngineError, match="truncated"):
        read_e5s1(path)


def test_read_e5s1_missing_file(tmp_path):
    with pytest.raises(EngineError, match="cannot read E5S1 model file"):
        read_e5s1(tmp_path / "absent.bin")
