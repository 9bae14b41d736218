"""Alerts for failed runs and failed checks: a JSON line in alerts.jsonl, and a webhook POST if one
is set.

The line is written first and always; the POSTs of one sensor call share one deadline for
everything (connecting, sending, every byte of the answer, one retry each), so a webhook that
answers slowly, or one byte at a time, cannot hold the sensor that sends them.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from sentiment_assets.lib import settings

# An alert stays readable whatever failed: each error is cut to this, and a few steps are listed.
MAX_ERROR_CHARS = 1000
MAX_CAUSES = 10
_RETRY_PAUSE_SECONDS = 0.5


class StepError(BaseModel):
    """Why one step failed: its error, which names the file and the problem for a drop."""

    step: str
    error: str


class Alert(BaseModel):
    """A failed run (`check` None), or a check that failed in a run (its name and severity)."""

    time: str
    job: str
    run_id: str
    partition: str | None
    assets: list[str]
    error: str  # the run's own failure message, or what the check found
    causes: list[StepError]  # the failed steps' errors (for a check: its own finding)
    check: str | None = None
    severity: str | None = None  # a check's: "ERROR" (a failure) or "WARN" (a warning)

    def key(self) -> tuple[str, str | None, str | None, tuple[str, ...]]:
        """What one alert is about: the run, and the check (None: the run's own failure)."""
        return self.run_id, self.check, self.partition, tuple(self.assets)


class Deadline:
    """A time budget shared by every POST it is passed to, from now on."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()


class AlertNotDelivered(Exception):
    """The webhook did not take the alert within the deadline; the message says what happened."""


def bounded(text: str) -> str:
    return (
        text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 16] + " ... (cut short)"
    )


def append_alert(alert: Alert, path: Path) -> bool:
    """One JSON line per alert, in a file only its owner can read (alerts quote drops); False, and
    nothing written, when the file already holds an alert for the same run and finding: the
    daemon's sensors and `sentiment-run` may both raise one for a run, at the same time.

    The file is read line by line as bytes, and only the lines that name the run are parsed:
    a line cut short by a full disk (inside a character, say: alerts quote reviews) is no alert
    and stops none, and a file of many alerts costs one pass, not its size in memory."""
    settings.private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, settings.PRIVATE_FILE_MODE)
    os.fchmod(fd, settings.PRIVATE_FILE_MODE)  # also a file created before it was private
    run = alert.run_id.encode()
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        last = b"\n"
        for line in f:
            last = line[-1:]
            if run in line and _same_finding(alert, line):
                return False
        # A last line cut short stays a line of its own, not the start of this one.
        f.write((b"" if last == b"\n" else b"\n") + alert.model_dump_json().encode() + b"\n")
    return True


def _same_finding(alert: Alert, line: bytes) -> bool:
    """Whether a line of the file is an alert for the same run, check, partition and assets."""
    try:
        other = Alert.model_validate_json(line)
    except ValueError:  # a line cut short by a full disk, or written by hand
        return False
    return alert.key() == other.key()


def post_alert(alert: Alert, url: str, deadline: Deadline, attempts: int = 2) -> int:
    """POST the alert as JSON and return the HTTP status, within what is left of `deadline`; a
    failed attempt is tried again while time is left, except when the webhook refuses the alert
    (4xx). Raises `AlertNotDelivered`."""
    body = alert.model_dump_json().encode()
    problems: list[str] = []
    for attempt in range(attempts):
        remaining = deadline.remaining()
        if remaining <= 0:
            break
        try:
            return _post_once(url, body, remaining / (attempts - attempt))
        except urllib.error.HTTPError as err:
            err.close()  # its answer holds the connection open
            problems.append(f"HTTP {err.code} {err.reason}")
            if 400 <= err.code < 500 and err.code not in (408, 429):
                break  # the same alert would be refused again
        except (OSError, http.client.HTTPException) as err:
            problems.append(_describe(err))
        time.sleep(max(0.0, min(_RETRY_PAUSE_SECONDS, deadline.remaining())))
    happened = "; then ".join(problems) or "the deadline was spent on the alerts before it"
    raise AlertNotDelivered(
        f"not delivered to {where(url)} within {deadline.seconds:g} s: {happened}"
    )


def where(url: str) -> str:
    """The webhook without path or credentials (webhook URLs often carry a token in the path)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _post_once(url: str, body: bytes, timeout: float) -> int:
    """One POST, aborted after `timeout` s even if the answer keeps trickling in.

    A socket timeout bounds each read only; a timer shuts the connection's socket down at the
    deadline, which ends a read that is waiting. urllib's handlers still apply the proxy settings.
    """
    connections: list[http.client.HTTPConnection] = []
    aborted = threading.Event()

    def abort() -> None:
        aborted.set()
        for connection in connections:
            if connection.sock is not None:
                with suppress(OSError):
                    connection.sock.shutdown(socket.SHUT_RDWR)

    opener = urllib.request.build_opener(_Http(connections), _Https(connections))
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    timer = threading.Timer(timeout, abort)
    timer.start()
    late = TimeoutError(f"no complete answer within {timeout:.1f} s")
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
    except (OSError, http.client.HTTPException) as err:
        if aborted.is_set():
            raise late from err
        raise
    finally:
        timer.cancel()
    if aborted.is_set():
        raise late  # cut mid-answer: a status line cut short can still parse ("HTTP/1.1 204 No")
    return status


def _tracked(cls: type[http.client.HTTPConnection], connections: list) -> Callable:
    def connect(host: str, **kwargs: object) -> http.client.HTTPConnection:
        connection = cls(host, **kwargs)
        connections.append(connection)
        return connection

    return connect


class _Http(urllib.request.HTTPHandler):
    def __init__(self, connections: list) -> None:
        super().__init__()
        self.connections = connections

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_tracked(http.client.HTTPConnection, self.connections), req)


class _Https(urllib.request.HTTPSHandler):
    def __init__(self, connections: list) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(context=self.tls)
        self.connections = connections

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connect = _tracked(http.client.HTTPSConnection, self.connections)
        return self.do_open(connect, req, context=self.tls)


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason
    return str(err) or type(err).__name__
