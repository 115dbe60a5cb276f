"""A real `engine serve` process on 127.0.0.1 and a port the test picked, over an index built with the
tiny bundle; every process a fixture starts, it stops."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from engine.build import build_index
from engine.encoder import Encoder
from engine.index import HnswParams

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
WORDS = ("water river moon rice bread mountain city school music market light rain wind stone garden road "
         "forest song book child tree fire island bridge sun winter harvest ocean desert village").split()
LANGS = ("en", "de", "sw", "yo")


def corpus_records(count: int, start: int = 0, seed: int = 0) -> list[dict]:
    rng = random.Random(seed + start)
    return [{"id": f"p{number}", "lang": LANGS[number % len(LANGS)], "title": f"topic {number % 17}",
             "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 30))), "n": number}
            for number in range(start, start + count)]


def write_corpus(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, tiny_bundle):
    """240 passages in 4 languages, indexed with the tiny bundle (int8)."""
    root = tmp_path_factory.mktemp("served")
    corpus = write_corpus(root / "corpus.jsonl", corpus_records(240))
    build_index(corpus, Encoder(tiny_bundle, variant="int8", intra_op_threads=1), root / "index",
                HnswParams(M=16), quiet=True)
    return root / "index"


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(tmp_path: Path, *args, env: dict | None = None):
    """`engine serve ARGS --port P` until its /ready answers 200; stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    command = [sys.executable, "-m", "engine", "serve", *map(str, args), "--host", "127.0.0.1", "--port", str(port),
               "--threads", "1"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(server)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(STOP_TIMEOUT_S)
    return server.process.returncode


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"engine serve exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"engine serve was not ready within {START_TIMEOUT_S} s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    """One server for the read-only tests of a module: index `main`, no key."""
    with running_server(tmp_path_factory.mktemp("logs"), f"main={index_dir}") as running:
        yield running
