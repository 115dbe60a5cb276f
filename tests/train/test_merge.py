"""Weight-space merging: the formula, the refusals, and a result the exporter takes."""

import json

import pytest
import torch
from click.testing import CliRunner

from engine.cli import main
from engine.errors import EngineError
from train.merge import MERGE_RECORD, merge_models


@pytest.fixture(scope="module")
def tuned_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with every weight moved: a stand-in for a fine-tuned copy."""
    from transformers import AutoModel

    from export.hf_tokenizer import load_hf_tokenizer
    from export.model_settings import read_settings, write_settings

    out = tmp_path_factory.mktemp("tuned")
    model = AutoModel.from_pretrained(tiny_model_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    model.save_pretrained(out)
    load_hf_tokenizer(tiny_model_dir).save_pretrained(out)
    write_settings(out, read_settings(tiny_model_dir))
    return out


def _weights(path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(path).state_dict()


@pytest.mark.parametrize("ratio", [0.0, 0.25, 1.0])
def test_merged_weights_follow_the_formula(tiny_model_dir, tuned_dir, tmp_path, ratio):
    out = merge_models(str(tiny_model_dir), str(tuned_dir), ratio, tmp_path / "merged", quiet=True)
    base, tuned, merged = _weights(tiny_model_dir), _weights(tuned_dir), _weights(out)
    for name, tensor in merged.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, (1 - ratio) * base[name] + ratio * tuned[name], atol=1e-6, rtol=0)
    assert json.loads((out / MERGE_RECORD).read_text(encoding="utf-8"))["ratio"] == ratio


def test_the_merged_dir_exports_as_it_is(tiny_model_dir, tuned_dir, tmp_path):
    from export.bundle_writer import export_bundle

    out = merge_models(str(tiny_model_dir), str(tuned_dir), 0.5, tmp_path / "merged", quiet=True)
    bundle = export_bundle(out, tmp_path / "bundle", quantize=(), quiet=True)
    assert (bundle / "model.onnx").is_file()


def test_mismatched_models_and_ratios_are_refused(tiny_model_dir, tmp_path):
    from transformers import BertConfig, BertModel

    from tests.conftest import build_tiny_model_dir

    wider = build_tiny_model_dir(tmp_path / "wider")
    config = BertConfig.from_pretrained(wider)
    config.hidden_size, config.intermediate_size = 64, 128
    BertModel(config).save_pretrained(wider)
    with pytest.raises(EngineError, match=r"they differ in hidden_size, intermediate_size \(hidden_size 32 vs 64\)"):
        merge_models(str(tiny_model_dir), str(wider), 0.5, tmp_path / "out", quiet=True)
    for ratio in (-0.1, 1.5):
        with pytest.raises(EngineError, match="the merge ratio must be between 0 and 1"):
            merge_models(str(tiny_model_dir), str(tiny_model_dir), ratio, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


def test_another_vocabulary_is_refused(tiny_model_dir, tmp_path):
    from transformers import BertConfig, BertModel

    from tests.conftest import build_tiny_model_dir

    other = build_tiny_model_dir(tmp_path / "other")
    tokenizer_file = other / "tokenizer.json"
    tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    first = next(token for token in vocab if not token.startswith("["))
    vocab[first + "x"] = vocab.pop(first)  # same size, one token renamed
    tokenizer_file.write_text(json.dumps(tokenizer), encoding="utf-8")
    BertModel(BertConfig.from_pretrained(other)).save_pretrained(other)
    with pytest.raises(EngineError, match="their tokenizers' vocabularies differ"):
        merge_models(str(tiny_model_dir), str(other), 0.5, tmp_path / "out", quiet=True)


def test_command_line(tiny_model_dir, tuned_dir, tmp_path):
    out = tmp_path / "merged"
    result = CliRunner().invoke(main, ["merge", str(tiny_model_dir), str(tuned_dir), "--ratio", "0.5", "--out",
                                       str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (out / "config.json").is_file()
    again = CliRunner().invoke(main, ["merge", str(tiny_model_dir), str(tuned_dir), "--ratio", "0.5", "--out",
                                      str(out)])
    assert again.exit_code == 1 and "exists: pass --overwrite" in again.output
    bad = CliRunner().invoke(main, ["merge", str(tiny_model_dir), str(tuned_dir), "--ratio", "2", "--out",
                                    str(tmp_path / "other")])
    assert bad.exit_code == 1 and bad.output.startswith("error: the merge ratio must be between 0 and 1")
