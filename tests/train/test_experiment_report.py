import json

from train.experiment_report import collect, markdown


def write_eval(run_dir, benchmark, mono_map, quantization="dynamic int8 (format A), recipe all-matmuls",
               fingerprint="weights-1"):
    report = {"languages": ["en"], "model": {"variant": "int8", "quantization": quantization, "fingerprint": fingerprint},
              "machine": {"machine": "x86_64, 2 logical cores, Some CPU", "OMP_NUM_THREADS": "2"},
              "settings": {"mono": {"macro": {"map": mono_map}, "pools": {"en": {"map": mono_map, "queries": 3}}}}}
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    (run_dir / "eval" / f"{benchmark}.json").write_text(json.dumps(report), encoding="utf-8")


def test_seeds_are_summarised_per_figure_and_a_figure_from_fewer_seeds_says_so(tmp_path):
    write_eval(tmp_path / "runs" / "hybrid-s0", "xquad-r", 0.70)
    write_eval(tmp_path / "runs" / "hybrid-s1", "xquad-r", 0.60)
    write_eval(tmp_path / "runs" / "hybrid-s0", "mlqa-r", 0.50)  # evaluated for seed 0 only

    hybrid = collect(tmp_path)["configurations"]["hybrid"]
    assert abs(hybrid["mean"]["xquad-r"]["mono/map"] - 0.65) < 1e-12
    assert abs(hybrid["half_range"]["xquad-r"]["mono/map"] - 0.05) < 1e-12
    assert hybrid["seed_count"] == {"xquad-r": {"mono/map": 2, "mono/en/map": 2},
                                    "mlqa-r": {"mono/map": 1, "mono/en/map": 1}}

    row = next(line for line in markdown(collect(tmp_path)).splitlines() if line.startswith("| hybrid | 2 |"))
    assert "0.650 ±0.050" in row and "0.500 (1 seed)" in row


def test_merge_curves_run_from_the_base_model_to_the_fine_tuned_one():
    from train.experiment_report import merge_curves

    def config(mono, multi):
        return {"mean": {"xquad-r": {"mono/map": mono, "multi/map": multi}}}

    results = {"configurations": {"base": config(0.76, 0.16), "hybrid": config(0.68, 0.31),
                                  "hybrid+merge0.5": config(0.75, 0.28), "hybrid+merge0.25": config(0.77, 0.22),
                                  "x-y": config(0.69, 0.33)}}
    assert merge_curves(results) == {"hybrid": [(0.0, 0.76, 0.16), (0.25, 0.77, 0.22), (0.5, 0.75, 0.28),
                                                (1.0, 0.68, 0.31)]}


def test_the_merge_sweep_table_steps_from_the_base_model_through_each_merge_to_the_run(tmp_path):
    write_eval(tmp_path / "base", "xquad-r", 0.76)
    write_eval(tmp_path / "runs" / "hybrid-s0", "xquad-r", 0.68)
    write_eval(tmp_path / "runs" / "hybrid+merge0.75-s0", "xquad-r", 0.72)
    write_eval(tmp_path / "runs" / "hybrid+merge0.25-s0", "xquad-r", 0.77)

    text = markdown(collect(tmp_path))
    sweep = text[text.index("## Merge sweep"):text.index("## Long-tail")]
    rows = [line.strip("| ").split(" | ") for line in sweep.splitlines() if line.startswith("| hybrid R=")]
    assert rows == [["hybrid R=0", "1", "0.760"], ["hybrid R=0.25", "1", "0.770"],
                    ["hybrid R=0.75", "1", "0.720"], ["hybrid R=1", "1", "0.680"]]


def test_models_quantised_in_different_formats_are_named_and_recipes_do_not_count(tmp_path):
    write_eval(tmp_path / "base", "xquad-r", 0.76)
    write_eval(tmp_path / "runs" / "hybrid-s0", "xquad-r", 0.68, "dynamic int8 (format A), recipe ffn-output-fp32")
    assert "quantised the same way" not in markdown(collect(tmp_path))

    write_eval(tmp_path / "runs" / "x-x-s0", "xquad-r", 0.70, "dynamic int8 (format B), recipe all-matmuls")
    note = next(line for line in markdown(collect(tmp_path)).splitlines() if "quantised the same way" in line)
    assert "dynamic int8 (format A): base, hybrid; dynamic int8 (format B): x-x" in note


def test_a_run_trained_again_after_its_evaluations_is_named(tmp_path):
    run = tmp_path / "runs" / "hybrid-s0"
    write_eval(run, "xquad-r", 0.68, fingerprint="weights-1")
    (run / "bundle").mkdir()
    (run / "bundle" / "bundle.json").write_text(json.dumps({"fingerprint": "weights-1"}), encoding="utf-8")
    assert "Trained again" not in markdown(collect(tmp_path))

    (run / "bundle" / "bundle.json").write_text(json.dumps({"fingerprint": "weights-2"}), encoding="utf-8")
    note = next(line for line in markdown(collect(tmp_path)).splitlines() if "Trained again" in line)
    assert ": hybrid." in note


def test_the_table_names_the_machines_its_reports_were_made_on(tmp_path):
    write_eval(tmp_path / "base", "xquad-r", 0.76)
    assert "Evaluated on: x86_64, 2 logical cores, Some CPU, OMP_NUM_THREADS=2." in markdown(collect(tmp_path))
