import json

import numpy as np
import pytest

from benchmarks import training_curves


def _log(losses, validation, precision):
    return {"precision": precision, "wall_s": 10.0, "train": [{"step": i + 1, "loss": v} for i, v in enumerate(losses)],
            "validation": [{"step": step, "loss": v} for step, v in validation]}


def test_smoothed_is_the_running_mean_of_the_last_window():
    values = list(range(1, 13))
    assert training_curves.smoothed(values)[:3] == pytest.approx([1.0, 1.5, 2.0])
    assert training_curves.smoothed(values)[-1] == pytest.approx(np.mean(values[-10:]))


def test_table_gives_the_gap_to_the_first_run_and_validation_side_by_side(tmp_path):
    logs = {"fp32": _log([2.0] * 20, [(10, 1.5), (20, 1.2)], "fp32"),
            "bf16": _log([2.1] * 20, [(10, 1.6), (20, 1.25)], "bf16")}
    table = training_curves.compare(logs)
    assert "| bf16 | bf16 | 20 | 10 | 2.1000 | 0.1000 / 0.1000 |" in table
    assert "| 20 | 1.2000 | 1.2500 |" in table
    for name, log in logs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "training_log.json").write_text(json.dumps(log), encoding="utf-8")
    training_curves.main([str(tmp_path / "fp32" / "training_log.json"), str(tmp_path / "bf16" / "training_log.json"),
                          "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "training-curves.png").stat().st_size > 0
    assert (tmp_path / "out" / "training-curves.md").read_text(encoding="utf-8") == table
