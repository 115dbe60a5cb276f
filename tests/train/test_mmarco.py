import pytest
from click.testing import CliRunner

from engine.errors import EngineError
from train.cli import build_pairs_command
from train.mmarco import mmarco_pair_groups
from train.pairs import Pair, read_pair_groups


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def mmarco_dir(tmp_path):
    root = tmp_path / "mmarco"
    _write(root / "triples.tsv", ["1\t10\t11", "1\t10\t12", "2\t20\t21", "3\t30\t31"])
    _write(root / "en" / "queries.tsv", ["1\twhat is a river", "2\twho bakes bread", "3\twhen do owls hunt"])
    _write(root / "en" / "collection.tsv", ["10\tA river flows.", "11\tBread is baked.", "12\tStars shine.",
                                            "20\tBakers bake bread.", "21\tRivers are long.",
                                            "30\tOwls hunt at night.", "31\tThe sun rises."])
    _write(root / "pt" / "queries.tsv", ["1\to que é um rio", "2\tquem assa pão"])
    _write(root / "pt" / "collection.tsv", ["10\tUm rio corre.", "11\tO pão é assado.",
                                            "20\tPadeiros assam pão.", "21\tOs rios são longos."])
    return root


def test_groups_join_triples_queries_and_passages_by_id_across_languages(mmarco_dir):
    groups = mmarco_pair_groups(mmarco_dir)
    assert [group.group for group in groups] == ["mmarco/1", "mmarco/2", "mmarco/3"]
    assert groups[0].pairs == {"en": Pair("what is a river", "A river flows.", ("Bread is baked.",)),
                               "pt": Pair("o que é um rio", "Um rio corre.", ("O pão é assado.",))}
    assert groups[2].languages == ["en"]  # query 3 is not translated into pt
    assert [group.group for group in mmarco_pair_groups(mmarco_dir, max_queries=2)] == ["mmarco/1", "mmarco/2"]


def test_build_training_pairs_with_mmarco(mmarco_dir, tmp_path):
    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(build_pairs_command, ["--out", str(out), "--sources", "mmarco",
                                                      "--mmarco-dir", str(mmarco_dir), "--mmarco-max-queries", "1"])
    assert result.exit_code == 0, result.output
    assert [group.group for group in read_pair_groups(out)] == ["mmarco/1"]
    result = CliRunner().invoke(build_pairs_command, ["--out", str(out), "--sources", "mmarco"])
    assert isinstance(result.exception, EngineError) and "needs --mmarco-dir" in str(result.exception)


@pytest.mark.parametrize("file, lines, message", [
    ("triples.tsv", ["1\t10"], r"triples.tsv:1: expected qid, positive pid, negative pid \(3 columns\), got 2"),
    ("en/queries.tsv", ["1\twhat", "2"], r"queries.tsv:2: expected id <TAB> non-empty text"),
    ("en/collection.tsv", ["10\t "], r"collection.tsv:1: expected id <TAB> non-empty text"),
])
def test_malformed_files_name_the_line(mmarco_dir, file, lines, message):
    _write(mmarco_dir / file, lines)
    with pytest.raises(EngineError, match=message):
        mmarco_pair_groups(mmarco_dir)


def test_bad_dirs(tmp_path, mmarco_dir):
    with pytest.raises(EngineError, match="has no language folders"):
        mmarco_pair_groups(tmp_path / "missing")
    (mmarco_dir / "english").mkdir()
    with pytest.raises(EngineError, match="mMARCO folder .*english"):
        mmarco_pair_groups(mmarco_dir)
    (mmarco_dir / "english").rmdir()
    (mmarco_dir / "triples.tsv").unlink()
    with pytest.raises(EngineError, match="mMARCO file .*triples.tsv is missing"):
        mmarco_pair_groups(mmarco_dir)
    (mmarco_dir / "triples.tsv").symlink_to("triples.tsv")  # a loop: open() fails, as on an unreadable file
    with pytest.raises(EngineError, match="cannot read mMARCO file .*triples.tsv: Too many levels of symbolic links"):
        mmarco_pair_groups(mmarco_dir)
