import pytest

pytest.importorskip("optimum.onnxruntime")

from benchmarks import encoder_systems  # noqa: E402


@pytest.mark.parametrize("flags, machine, preset", [
    ("fpu sse avx2 avx512f avx512_vnni", "x86_64", "avx512_vnni"),
    ("fpu sse avx2 avx512f", "x86_64", "avx512"),
    ("fpu sse avx2", "x86_64", "avx2"),
    ("fpu sse", "x86_64", "avx2"),
    ("fp asimd", "aarch64", "arm64"),
])
def test_sentence_transformers_preset_follows_cpu_flags(tmp_path, monkeypatch, flags, machine, preset):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(encoder_systems.platform, "machine", lambda: machine)
    assert encoder_systems.st_quantization_preset(cpuinfo) == preset
