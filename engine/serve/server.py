"""Run the app with uvicorn on a socket bound here (so a busy port is one clear error, and port 0 reports
the port it got). SIGTERM or Ctrl-C stops accepting connections, lets the requests in flight finish, then
the process exits 0."""

from __future__ import annotations

import signal
import socket

from engine.errors import EngineError


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        raise EngineError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


def run(app, sock: socket.socket, drain_timeout_s: float, on_drain) -> None:
    """Serve until SIGTERM or SIGINT; `on_drain()` is called when one arrives."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig, frame):
            on_drain()
            super().handle_exit(sig, frame)

    # Keep-alive 30 s rather than uvicorn's 5: a client reusing a connection the server has just closed
    # for idleness sees a connection error (the load test met one at 64 clients).
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=drain_timeout_s, timeout_keep_alive=30)
    # uvicorn re-raises the signal it stopped on once it has shut down, under the handler that was there
    # before it: with this one the drained process goes on to exit 0 instead of dying by the signal.
    previous = {sig: signal.signal(sig, _after_drain) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        DrainingServer(config).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _after_drain(signum, frame) -> None:
    pass
