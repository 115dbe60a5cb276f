"""How an HF model dir turns token states into a sentence embedding: pooling, prefixes, length.

Models this project writes carry `engine_model.json`. Other HF models are read from their
sentence-transformers files when present, else they get mean pooling, L2 normalisation and no
prefixes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.bundle import POOLING_MODES
from engine.errors import EngineError

SETTINGS_FILE = "engine_model.json"
DEFAULT_MAX_LENGTH = 512
# Tokenizers without a real limit store a huge sentinel as model_max_length.
_UNSET_MAX_LENGTH = 1_000_000
_ST_POOLING_KEYS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


@dataclass(frozen=True)
class EncoderSettings:
    pooling: str = "mean"
    normalize: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int = DEFAULT_MAX_LENGTH


def write_settings(model_dir: Path, settings: EncoderSettings) -> None:
    (Path(model_dir) / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")


def read_settings(model_dir: Path) -> EncoderSettings:
    """engine_model.json, else sentence-transformers' files, else mean pooling without prefixes."""
    model_dir = Path(model_dir)
    own = model_dir / SETTINGS_FILE
    if own.is_file():
        settings = _own_settings(own)
    elif (model_dir / "modules.json").is_file():
        settings = _from_sentence_transformers(model_dir)
    else:
        settings = EncoderSettings(max_length=_tokenizer_max_length(model_dir))
    if settings.pooling not in POOLING_MODES:
        raise EngineError(f"{model_dir}: pooling {settings.pooling!r} is not supported (use one of {POOLING_MODES})")
    return settings


def _own_settings(path: Path) -> EncoderSettings:
    fields = _read_json(path)
    defaults = asdict(EncoderSettings())
    unknown = set(fields) - set(defaults)
    if unknown:
        raise EngineError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        if type(value) is not type(defaults[name]):  # `is`: true is no max_length
            raise EngineError(f"{path}: {name} must be a JSON {_JSON_TYPES[type(defaults[name])]}, got {value!r}")
    if fields.get("max_length", DEFAULT_MAX_LENGTH) < 1:
        raise EngineError(f"{path}: max_length must be at least 1, got {fields['max_length']}")
    return EncoderSettings(**fields)


_JSON_TYPES = {str: "string", bool: "boolean", int: "integer"}


def _from_sentence_transformers(model_dir: Path) -> EncoderSettings:
    modules = _read_json(model_dir / "modules.json", list)
    if not all(isinstance(module, dict) for module in modules):
        raise EngineError(f"{model_dir / 'modules.json'}: expected a list of JSON objects")
    types = {module.get("type", "").rsplit(".", 1)[-1]: module.get("path", "") for module in modules}
    pooling = "mean"
    if "Pooling" in types:
        pooling = _st_pooling_mode(model_dir / types["Pooling"] / "config.json")
    prompts = {}
    st_config = model_dir / "config_sentence_transformers.json"
    if st_config.is_file():
        prompts = _read_json(st_config).get("prompts") or {}
    max_length = _tokenizer_max_length(model_dir)
    bert_config = model_dir / "sentence_bert_config.json"
    if bert_config.is_file():
        max_length = _read_json(bert_config).get("max_seq_length") or max_length
    return EncoderSettings(
        pooling=pooling,
        normalize="Normalize" in types,
        query_prefix=prompts.get("query", ""),
        passage_prefix=prompts.get("passage", prompts.get("document", "")),
        max_length=int(max_length),
    )


def _st_pooling_mode(config_path: Path) -> str:
    config = _read_json(config_path)
    enabled = [key for key, value in config.items() if key.startswith("pooling_mode_") and value]
    modes = [_ST_POOLING_KEYS.get(key) for key in enabled]
    if len(modes) != 1 or modes[0] is None:
        raise EngineError(
            f"{config_path}: pooling {', '.join(enabled) or 'none'} is not supported "
            "(the engine pools by mean or CLS token)"
        )
    return modes[0]


def _tokenizer_max_length(model_dir: Path) -> int:
    tokenizer_config = model_dir / "tokenizer_config.json"
    if tokenizer_config.is_file():
        length = _read_json(tokenizer_config).get("model_max_length")
        if isinstance(length, (int, float)) and 0 < length < _UNSET_MAX_LENGTH:
            return int(length)
    return DEFAULT_MAX_LENGTH


def _read_json(path: Path, expected: type = dict):
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EngineError(f"cannot read {path}: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(content, expected):
        raise EngineError(f"{path}: expected a JSON {'object' if expected is dict else 'list'}, "
                          f"got {type(content).__name__}")
    return content
