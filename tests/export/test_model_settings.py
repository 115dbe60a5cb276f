import json

import pytest

from engine.errors import EngineError
from export.model_settings import SETTINGS_FILE, EncoderSettings, read_settings, write_settings
from export.sentence_transformers_files import write_sentence_transformers_files


def test_engine_settings_round_trip(tmp_path):
    settings = EncoderSettings(pooling="cls", normalize=False, query_prefix="q: ", passage_prefix="p: ",
                               max_length=128)
    write_settings(tmp_path, settings)
    assert read_settings(tmp_path) == settings


def test_engine_settings_take_precedence_over_sentence_transformers(tmp_path):
    write_sentence_transformers_files(tmp_path, EncoderSettings(pooling="cls"), dimension=8)
    write_settings(tmp_path, EncoderSettings(pooling="mean", query_prefix="query: "))
    assert read_settings(tmp_path) == EncoderSettings(pooling="mean", query_prefix="query: ")


@pytest.mark.parametrize("settings", [
    EncoderSettings(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ",
                    max_length=256),
    EncoderSettings(pooling="cls", normalize=False, max_length=512),
])
def test_sentence_transformers_files_round_trip(tmp_path, settings):
    write_sentence_transformers_files(tmp_path, settings, dimension=8)
    assert read_settings(tmp_path) == settings


def test_sentence_transformers_document_prompt_is_the_passage_prefix(tmp_path):
    write_sentence_transformers_files(tmp_path, EncoderSettings(), dimension=8)
    config = tmp_path / "config_sentence_transformers.json"
    config.write_text(json.dumps({"prompts": {"query": "Q: ", "document": "D: "}}))
    settings = read_settings(tmp_path)
    assert (settings.query_prefix, settings.passage_prefix) == ("Q: ", "D: ")


def test_unsupported_sentence_transformers_pooling(tmp_path):
    write_sentence_transformers_files(tmp_path, EncoderSettings(), dimension=8)
    pooling = tmp_path / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(EngineError, match="pooling_mode_max_tokens is not supported"):
        read_settings(tmp_path)


def test_plain_hf_model_gets_mean_pooling_without_prefixes(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 256}))
    assert read_settings(tmp_path) == EncoderSettings(pooling="mean", normalize=True, max_length=256)


def test_tokenizer_without_a_real_limit_gets_the_default_length(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1e30}))
    assert read_settings(tmp_path).max_length == 512


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"pooling": "mean", "colour": "blue"}', "unknown field"),
    ('{"pooling": "max"}', "pooling 'max' is not supported"),
    ("[]", "expected a JSON object, got list"),
    ('{"max_length": "64"}', "max_length must be a JSON integer, got '64'"),
    ('{"max_length": true}', "max_length must be a JSON integer, got True"),
    ('{"max_length": 0}', "max_length must be at least 1, got 0"),
    ('{"normalize": 1}', "normalize must be a JSON boolean, got 1"),
])
def test_bad_engine_settings(tmp_path, content, message):
    (tmp_path / SETTINGS_FILE).write_text(content)
    with pytest.raises(EngineError, match=message):
        read_settings(tmp_path)


def test_a_modules_file_that_is_not_a_list_of_objects_is_named(tmp_path):
    (tmp_path / "modules.json").write_text("[1]")
    with pytest.raises(EngineError, match="modules.json: expected a list of JSON objects"):
        read_settings(tmp_path)
    (tmp_path / "modules.json").write_text("{}")
    with pytest.raises(EngineError, match="modules.json: expected a JSON list, got dict"):
        read_settings(tmp_path)
