"""Servers for tests: a real `mlflow server` on loopback, and a proxy in front of it that can make
the registry's alias look-ups fail."""

from __future__ import annotations

import http.client
import http.server
import os
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from sentiment_assets_tests.processes import free_port, start_group, stop_group, wait_until

ALIAS_LOOKUP = "/api/2.0/mlflow/registered-models/alias"
# Hop-by-hop headers, and the length the proxy sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port, its SQLite store and artifacts in `folder`,
    in its own process group and stopped by its PID; its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server"]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(folder / "artifacts")]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # The server starts uvicorn by name: the venv's bin must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    server = start_group(command, folder / "server.log", env={**os.environ, "PATH": path})
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool | None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5):
                return True
        except OSError:
            return None

    try:
        wait_until("mlflow server answering /health", healthy, 120, alive=[server])
        yield url
    finally:
        stop_group(server)


class FaultyProxy:
    """A loopback HTTP proxy in a thread that forwards every request to `upstream`, except that it
    answers `alias_reply` (status and body, when set) to the registry's alias look-ups."""

    def __init__(self, upstream: str) -> None:
        self.alias_reply: tuple[int, bytes] | None = None
        self.alias_lookups = 0
        target = urlsplit(upstream)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if urlsplit(self.path).path == ALIAS_LOOKUP and self.command == "GET":
                    proxy.alias_lookups += 1
                    if proxy.alias_reply is not None:
                        status, reply = proxy.alias_reply
                        self._answer(status, [("Content-Type", "application/json")], reply)
                        return
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                content = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _NOT_FORWARDED]
                upstream.close()
                self._answer(response.status, kept, content)

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
