"""Fetching missing data files, from a real HTTP server on localhost standing in for GitHub."""

import functools
import http.server
import threading

import pytest

from engine.errors import EngineError
from engine.evaluation.download import fetch
from engine.evaluation.lareqa import load_lareqa
from engine.evaluation.sources import LAREQA_REPOSITORY
from tests.engine.evaluation.conftest import write_lareqa


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local web server whose tree mirrors raw GitHub paths; fetching switched on."""
    served = tmp_path / "served"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ENGINE_DATA_MIRROR", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("ENGINE_OFFLINE", "0")
    yield served
    server.shutdown()


def test_missing_files_are_fetched_into_the_data_dir(mirror, tmp_path, monkeypatch):
    source = write_lareqa(tmp_path / "source")
    (mirror / LAREQA_REPOSITORY).mkdir(parents=True)
    (source / "xquad-r").rename(mirror / LAREQA_REPOSITORY / "xquad-r")
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ENGINE_DATA_DIR", str(data))
    bench = load_lareqa("xquad-r", data, ["en", "de"])
    assert (data / "xquad-r" / "en.json").is_file() and (data / "xquad-r" / "de.json").is_file()
    assert bench.query_ids[:2] == ["en/q1", "en/q2"]
    assert not [path for path in (data / "xquad-r").iterdir() if path.name.startswith(".")]


def test_a_failed_fetch_says_why_and_leaves_nothing(mirror, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ENGINE_DATA_DIR", str(data))
    with pytest.raises(EngineError, match=r"xquad-r/es.json not found .*fetching http://127.0.0.1:\d+/"
                                          r"google-research-datasets/lareqa/master/xquad-r/es.json failed: HTTP 404"):
        load_lareqa("xquad-r", data, ["es"])
    assert list((data / "xquad-r").iterdir()) == []


class _CutShort(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")

    def log_message(self, *args):
        pass


def test_a_download_cut_short_is_not_kept(tmp_path, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        message = fetch(f"http://127.0.0.1:{server.server_port}/x.tsv", tmp_path / "x.tsv")
    finally:
        server.shutdown()
    assert message == "the connection closed after 10 of 1000 bytes"
    assert list(tmp_path.iterdir()) == []
