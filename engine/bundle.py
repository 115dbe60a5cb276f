"""Model bundle: the on-disk format that export writes and the engine reads.

A bundle dir holds ONNX graphs (one per variant: fp32, int8, fp16), `tokenizer.json` and
`bundle.json`, the manifest. The manifest names pooling, normalisation, prefixes, max length,
dimension, the source model, each variant's quantisation and checksum, and a fingerprint of the
source weights. Two bundles exported from the same weights share a fingerprint, so an index built
with the fp32 variant accepts queries from the int8 variant of the same model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import EngineError
from engine.hashing import sha256_file
from engine.manifest_schema import Field, at_least, check, nonempty, one_of, sha256
from engine.paths import default_bundle_dir

MANIFEST_NAME = "bundle.json"
FORMAT_NAME = "engine-model-bundle"
FORMAT_VERSION = 1
POOLING_MODES = ("mean", "cls")
_FILE = {"file": Field(str, valid=nonempty), "sha256": Field(str, valid=sha256)}
MANIFEST_SCHEMA = {
    "format": Field(str), "format_version": Field(int),  # compared with this engine's below, by name
    "source_model": Field(str), "fingerprint": Field(str, valid=nonempty), "dimension": Field(int, valid=at_least(1)),
    "pooling": Field(str, valid=one_of(*POOLING_MODES)), "normalize": Field(bool),
    "query_prefix": Field(str), "passage_prefix": Field(str), "max_length": Field(int, valid=at_least(1)),
    "tokenizer": Field(dict, fields=_FILE),
    "variants": Field(dict, valid=nonempty, entries=Field(dict, fields={
        **_FILE, "quantization": Field(str, required=False), "recipe": Field(str, required=False),
        "recipes_tried": Field(dict, required=False)})),
    "parity": Field(dict, required=False),
    "created_with": Field(dict, required=False),
}
REQUIRED_FIELDS = tuple(name for name, spec in MANIFEST_SCHEMA.items() if spec.required)


@dataclass
class ModelBundle:
    path: Path
    manifest: dict = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def pooling(self) -> str:
        return self.manifest["pooling"]

    @property
    def normalize(self) -> bool:
        return bool(self.manifest["normalize"])

    @property
    def max_length(self) -> int:
        return int(self.manifest["max_length"])

    @property
    def query_prefix(self) -> str:
        return self.manifest["query_prefix"]

    @property
    def passage_prefix(self) -> str:
        return self.manifest["passage_prefix"]

    @property
    def variants(self) -> dict:
        return self.manifest["variants"]

    def default_variant(self, on_gpu: bool) -> str:
        """int8 on a CPU; fp32 on a GPU, where it measured faster than the fp16 graph (README, GPU)."""
        preferred = ("fp32", "fp16") if on_gpu else ("int8", "fp32")
        for name in preferred:
            if name in self.variants:
                return name
        return next(iter(self.variants))

    def variant_file(self, variant: str) -> Path:
        """Path of a variant's graph, checked against the manifest's checksum."""
        if variant not in self.variants:
            raise EngineError(
                f"model bundle {self.path} has no variant {variant!r} "
                f"(it has: {', '.join(sorted(self.variants))})"
            )
        entry = self.variants[variant]
        return self._checked_file(entry["file"], entry["sha256"])

    def tokenizer_file(self) -> Path:
        entry = self.manifest["tokenizer"]
        return self._checked_file(entry["file"], entry["sha256"])

    def _checked_file(self, name: str, expected_sha256: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise EngineError(f"model bundle {self.path} is missing {name} (listed in {MANIFEST_NAME})")
        if sha256_file(path) != expected_sha256:
            raise EngineError(
                f"model bundle file {path} does not match the checksum in {MANIFEST_NAME}: "
                "the file is corrupted or was replaced; re-export the bundle"
            )
        return path


def read_manifest(bundle_dir: Path) -> dict:
    manifest_path = bundle_dir / MANIFEST_NAME
    if not bundle_dir.is_dir():
        raise EngineError(f"model bundle {bundle_dir} does not exist or is not a directory")
    if not manifest_path.is_file():
        raise EngineError(
            f"{bundle_dir} is not a model bundle: it has no {MANIFEST_NAME} "
            "(make one with `engine export MODEL_DIR --out BUNDLE`)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{manifest_path} is not valid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise EngineError(f"{manifest_path} is not a model bundle manifest (not a JSON object)")
    if (manifest.get("format"), manifest.get("format_version")) != (FORMAT_NAME, FORMAT_VERSION):
        raise EngineError(
            f"{manifest_path} has format {manifest.get('format')!r} version {manifest.get('format_version')}; "
            f"this engine reads {FORMAT_NAME!r} version {FORMAT_VERSION}"
        )
    check(manifest, MANIFEST_SCHEMA, str(manifest_path))
    return manifest


def write_manifest(bundle_dir: Path, manifest: dict) -> None:
    (bundle_dir / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


DEFAULT_BUNDLE_COMMAND = "engine export default"


def load_bundle(name_or_path: str | Path) -> ModelBundle:
    """Open a bundle dir, or `default` (which the command layer builds on first use: engine.cli_options)."""
    if str(name_or_path) == "default":
        bundle_dir = default_bundle_dir()
        if not (bundle_dir / MANIFEST_NAME).is_file():
            raise EngineError(f"the default model bundle is not built yet ({bundle_dir}): "
                              f"run `{DEFAULT_BUNDLE_COMMAND}` once")
    else:
        bundle_dir = Path(name_or_path)
    return ModelBundle(bundle_dir, read_manifest(bundle_dir))
