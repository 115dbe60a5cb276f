"""Running a real `engine serve` process on 127.0.0.1 and a port the test picked, and the corpus it serves;
every process started here is stopped here."""

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


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_server(tmp_path: Path, *args, env: dict | None = None, threads: int = 1):
    """`engine serve ARGS --port P --threads T` until its /ready answers 200; stopped (SIGTERM, then
    SIGKILL) on exit."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    command = [sys.executable, "-m", "engine", "serve", *map(str, args), "--host", "127.0.0.1", "--port", str(port),
               "--threads", str(threads)]
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
    wait_ready(server.process, server.url, server.log, START_TIMEOUT_S)


def wait_ready(process: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    """Until `url`/ready answers 200; fails with the server's output if it exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"engine serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"engine serve was not ready within {timeout_s} s:\n{log.read_text(errors='replace')}")
