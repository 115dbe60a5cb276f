import os
from pathlib import Path

import pytest

# No model hub is reachable from the tests: fail at once instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tests never reach the internet for data; tests/engine/evaluation/test_download.py serves files itself.
os.environ.setdefault("ENGINE_OFFLINE", "1")

from export.parity_texts import PASSAGES, QUERIES  # noqa: E402

TINY_MAX_LENGTH = 64


def build_tiny_model_dir(out):
    """A random 2-layer BERT (hidden 32) with a WordPiece tokenizer trained on the parity sample."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from export.model_settings import EncoderSettings, write_settings

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(QUERIES + PASSAGES, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", backend.token_to_id("[CLS]")), ("[SEP]", backend.token_to_id("[SEP]"))],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=TINY_MAX_LENGTH,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=backend.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=TINY_MAX_LENGTH, pad_token_id=0,
    )
    BertModel(config).eval().save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_settings(out, EncoderSettings(pooling="mean", normalize=True, query_prefix="query: ",
                                        passage_prefix="passage: ", max_length=TINY_MAX_LENGTH))
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """An HF model dir small enough to export in seconds (see build_tiny_model_dir)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_bundle(tiny_model_dir, tmp_path_factory):
    """The tiny random BERT exported by the project's own exporter (fp32 + int8)."""
    from export.bundle_writer import export_bundle

    return export_bundle(tiny_model_dir, tmp_path_factory.mktemp("bundles") / "tiny", quantize=("int8",), quiet=True)


@pytest.fixture
def shared_data(monkeypatch):
    """The shared evaluation data: ENGINE_DATA_DIR, else ../shared/data beside the repository."""
    if os.environ.get("ENGINE_DATA_DIR"):
        return Path(os.environ["ENGINE_DATA_DIR"])
    candidate = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not candidate.is_dir():
        pytest.skip("needs the shared evaluation data: ENGINE_DATA_DIR is unset and ../shared/data does not exist")
    monkeypatch.setenv("ENGINE_DATA_DIR", str(candidate))
    return candidate
