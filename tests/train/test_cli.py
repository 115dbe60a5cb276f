import json

from click.testing import CliRunner

from engine.errors import EngineError
from export.parity_texts import PASSAGES, QUERIES
from train.builders import NTREX_LANGUAGES
from train.cli import build_pairs_command, train_command
from train.pairs import Pair, PairGroup, read_pair_groups, write_pair_groups
from train.trainer import LOG_FILE


def test_train_command_runs_a_few_steps(tiny_model_dir, tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_pair_groups(data, [PairGroup(f"g{n}", {"en": Pair(QUERIES[n], PASSAGES[n]),
                                                 "de": Pair(QUERIES[n + 6], PASSAGES[n + 6])}) for n in range(6)])
    result = CliRunner().invoke(train_command, [
        "--base", str(tiny_model_dir), "--data", str(data), "--batching", "x-y", "--batch-size", "3",
        "--steps", "2", "--validation-fraction", "0", "--out", str(tmp_path / "run"), "--freeze-embeddings",
        "--freeze-layers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    config = json.loads((tmp_path / "run" / LOG_FILE).read_text(encoding="utf-8"))["config"]
    assert config["batching"] == "x-y" and config["freeze_layers"] == 1


def test_build_pairs_command(tmp_path):
    folder = tmp_path / "ntrex128"
    folder.mkdir()
    (folder / "DOCUMENT_IDS.tsv").write_text("a\na\n", "utf-8")
    for code in NTREX_LANGUAGES:
        name = "newstest2019-src.eng.txt" if code == "eng" else f"newstest2019-ref.{code}.txt"
        (folder / name).write_text(f"{code} one\n{code} two\n", "utf-8")
    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(build_pairs_command, ["--out", str(out), "--sources", "ntrex128",
                                                      "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [group.group for group in read_pair_groups(out)] == ["ntrex128/1", "ntrex128/2"]
    result = CliRunner().invoke(build_pairs_command, ["--out", str(out), "--sources", "miracl"])
    assert isinstance(result.exception, EngineError) and "unknown source 'miracl'" in str(result.exception)


def test_train_command_languages(tiny_model_dir, tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_pair_groups(data, [PairGroup(f"g{n}", {"en": Pair(QUERIES[n], PASSAGES[n]),
                                                 "de": Pair(QUERIES[n + 6], PASSAGES[n + 6])}) for n in range(6)])
    common = ["--base", str(tiny_model_dir), "--data", str(data), "--batching", "x-x", "--batch-size", "3",
              "--steps", "1", "--validation-fraction", "0", "--quiet"]
    result = CliRunner().invoke(train_command, [*common, "--languages", "de", "--out", str(tmp_path / "de")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "de" / LOG_FILE).read_text(encoding="utf-8"))["config"]["languages"] == ["de"]
    result = CliRunner().invoke(train_command, [*common, "--languages", "de,fr", "--out", str(tmp_path / "fr")])
    assert isinstance(result.exception, EngineError)
    assert "language 'fr' has no pairs in the training data (it has: de, en)" in str(result.exception)
