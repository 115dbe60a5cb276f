import pytest

from engine.corpus import read_corpus
from engine.demo_data import demo_file
from export.hf_tokenizer import load_hf_tokenizer

pytestmark = pytest.mark.model


def test_training_tokenizer_matches_the_serving_one_without_a_warning(capfd):
    from tokenizers import Tokenizer

    from export.base_models import resolve_base_model
    from export.default_bundle import make_default_bundle

    model_dir = resolve_base_model("default")
    capfd.readouterr()
    training = load_hf_tokenizer(model_dir)
    assert "regex" not in capfd.readouterr().err  # transformers' own handler writes to stderr
    serving = Tokenizer.from_file(str(make_default_bundle(quiet=True) / "tokenizer.json"))
    texts = [passage.text for passage in read_corpus(demo_file("corpus.jsonl"))]
    assert len(texts) > 400
    assert [training(text)["input_ids"] for text in texts] == [serving.encode(text).ids for text in texts]
