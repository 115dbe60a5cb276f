"""Text -> embedding with a model bundle: `tokenizers` + ONNX Runtime, no torch.

Texts are tokenised once, sorted by length and batched by rows and padded tokens
(engine.batching), so each batch pads only to its own longest text. Texts longer than the bundle's max length are truncated to it (the tail is
ignored, as in the model's training). An empty text is encoded as its prefix alone (or the
special tokens when the bundle has no prefix), which gives a valid but uninformative vector.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from engine import kernels
from engine.batching import CPU_TOKEN_BUDGET, batch_bounds
from engine.bundle import ModelBundle, load_bundle
from engine.errors import EngineError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def cuda_available() -> bool:
    return CUDA in ort.get_available_providers()


class Encoder:
    def __init__(self, bundle: ModelBundle | str, variant: str | None = None, device: str = "auto",
                 intra_op_threads: int = 0, inter_op_threads: int = 0, batch_size: int = 32,
                 token_budget: int | None = None):
        """batch_size: most texts per batch; token_budget: most padded tokens per batch (None: 1024 on
        CPU, no bound on GPU; 0: no bound, fixed batches of batch_size)."""
        self.bundle = bundle if isinstance(bundle, ModelBundle) else load_bundle(bundle)
        if device not in ("auto", "cpu", "cuda"):
            raise EngineError(f"device must be auto, cpu or cuda, got {device!r}")
        if device == "cuda" and not cuda_available():
            raise EngineError("device cuda asked for, but onnxruntime has no CUDA provider here "
                              "(install the gpu extra: onnxruntime-gpu)")
        on_gpu = device == "cuda" or (device == "auto" and cuda_available())
        self.variant = variant or self.bundle.default_variant(on_gpu)
        if batch_size < 1:
            raise EngineError(f"batch size must be positive, got {batch_size}")
        if token_budget is not None and token_budget < 0:
            raise EngineError(f"token budget must be 0 (no bound) or positive, got {token_budget}")
        self.batch_size = batch_size
        self.token_budget = (0 if on_gpu else CPU_TOKEN_BUDGET) if token_budget is None else token_budget
        self.threads = intra_op_threads  # 0: every core (build_index inserts into the graph with as many)
        self.tokenizer = Tokenizer.from_file(str(self.bundle.tokenizer_file()))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.bundle.max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.log_severity_level = 4  # fatal only: a failed run becomes one EngineError, not an ORT log line too
        providers = [CUDA, CPU] if on_gpu else [CPU]
        self.session = ort.InferenceSession(str(self.bundle.variant_file(self.variant)), options,
                                            providers=providers)
        self.input_names = {node.name for node in self.session.get_inputs()}
        output = self.session.get_outputs()[0]
        self.output_name = output.name
        width = output.shape[-1] if output.shape else None
        if isinstance(width, int) and width != self.bundle.dimension:
            raise EngineError(f"model bundle {self.bundle.path}: bundle.json says dimension {self.bundle.dimension}, "
                              f"but its {self.variant} graph outputs {width}; re-export the bundle")

    @property
    def dimension(self) -> int:
        return self.bundle.dimension

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, self.bundle.query_prefix)

    def encode_passages(self, texts: list[str], progress=None) -> np.ndarray:
        return self.encode(texts, self.bundle.passage_prefix, progress)

    def encode(self, texts: list[str], prefix: str = "", progress=None) -> np.ndarray:
        """float32 (len(texts), dimension); `progress(n)` is called after each batch of n texts."""
        return self.embed(self.tokenize(texts, prefix), progress)

    def tokenize(self, texts: list[str], prefix: str = "") -> list:
        """`tokenizers` encodings, truncated to the bundle's max length (`.overflowing` tells)."""
        if isinstance(texts, str):
            raise EngineError("encode takes a list of texts, not a single string")
        return self.tokenizer.encode_batch([prefix + text for text in texts])

    def embed(self, encodings: list, progress=None) -> np.ndarray:
        """float32 (len(encodings), dimension) in input order, batched by length (engine.batching)."""
        out = np.empty((len(encodings), self.dimension), dtype=np.float32)
        lengths = np.array([len(encoding.ids) for encoding in encodings], dtype=np.int64)
        order = np.argsort(lengths, kind="stable")
        for start, stop in batch_bounds(lengths[order], self.batch_size, self.token_budget):
            rows = order[start:stop]
            out[rows] = self._encode_batch([encodings[row] for row in rows])
            if progress is not None:
                progress(len(rows))
        return out

    def _encode_batch(self, encodings) -> np.ndarray:
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        try:
            hidden = self.session.run([self.output_name], feed)[0]
        except Exception as err:
            if not type(err).__module__.startswith("onnxruntime"):
                raise
            raise EngineError(f"model bundle {self.bundle.path}: its {self.variant} graph failed on a batch of "
                              f"{ids.shape[0]} x {ids.shape[1]} tokens (is max_length {self.bundle.max_length} in "
                              f"bundle.json more than the model takes?): {str(err).splitlines()[0][:200]}") from None
        return kernels.pool(hidden, mask, self.bundle.pooling, self.bundle.normalize)
