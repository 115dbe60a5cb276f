"""`engine export` and `engine bundle-info` (export/cli.py)."""

import json

from tests.cli_runs import assert_fails
from tests.cli_runs import run_engine as run


def test_export_writes_a_bundle_and_bundle_info_prints_its_parity(tiny_model_dir, tmp_path):
    result = run("export", tiny_model_dir, "--out", tmp_path / "bundle", "--quantize", "none", "--quiet")
    assert result.exit_code == 0, result.output
    assert "parity with the fp32 torch model" in result.output
    info = run("bundle-info", tmp_path / "bundle")
    assert info.exit_code == 0, info.output
    assert "variant:     fp32" in info.output and "int8" not in info.output
    assert json.loads(run("bundle-info", tmp_path / "bundle", "--json").output)["variants"].keys() == {"fp32"}


def test_export_errors(tmp_path):
    (tmp_path / "not-a-model").mkdir()
    assert_fails(run("export", tmp_path / "not-a-model", "--out", tmp_path / "b"), "config.json")
    assert not (tmp_path / "b").exists()
    assert_fails(run("export", tmp_path / "not-a-model"), "--out is required")
    assert_fails(run("bundle-info", tmp_path / "not-a-model"), "is not a model bundle")
