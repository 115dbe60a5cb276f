"""JSON Lines: written whole or not at all, read back line by line."""

import pytest

from engine.errors import EngineError
from engine.jsonl import read_json_objects, write_json_lines


def test_written_lines_read_back(tmp_path):
    path = tmp_path / "groups.jsonl"
    records = [{"group": "g1", "text": "Ẹ káàárọ̀"}, {"group": "g2", "text": "two"}]
    assert write_json_lines(path, records) == 2
    assert [record for _, record in read_json_objects(path)] == records
    assert "Ẹ káàárọ̀" in path.read_text(encoding="utf-8")  # stored as text, not \u escapes


def test_a_failure_part_way_leaves_the_earlier_file_whole(tmp_path):
    path = tmp_path / "groups.jsonl"
    write_json_lines(path, [{"group": "kept"}])

    def records():
        yield {"group": "new"}
        raise EngineError("the source broke")

    with pytest.raises(EngineError, match="the source broke"):
        write_json_lines(path, records())
    assert [record for _, record in read_json_objects(path)] == [{"group": "kept"}]
    assert sorted(item.name for item in tmp_path.iterdir()) == ["groups.jsonl"]  # no temporary file left


def test_an_unwritable_path_is_named(tmp_path):
    with pytest.raises(EngineError, match=r"cannot write training pairs .*missing/groups.jsonl: No such file"):
        write_json_lines(tmp_path / "missing" / "groups.jsonl", [{"group": "g"}], "training pairs")
    with pytest.raises(EngineError, match=r"cannot write file .*: Is a directory"):
        write_json_lines(tmp_path, [{"group": "g"}])
