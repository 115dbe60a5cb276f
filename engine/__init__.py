"""Multilingual dense retrieval: ONNX Runtime encoder, hnswlib index, SQLite metadata."""

from engine.errors import EngineError

__all__ = ["EngineError"]
