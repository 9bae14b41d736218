"""Servers the tests start for real (dagster dev, mlflow server, PostgreSQL, ...): each in a process
group of its own, on a free loopback port, stopped by its PID and never by name."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def graphql(webserver: str, query: str, **variables: object) -> dict:
    """The data of a GraphQL query to a Dagster webserver; its errors raised, not returned."""
    request = urllib.request.Request(
        f"{webserver}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sigint_not_ignored() -> Iterator[None]:
    """dagster dev turns SIGTERM into its SIGINT handler; a SIGINT that whoever started pytest
    ignores (a background job of a script) would be inherited and make SIGTERM do nothing."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)  # reset to default by exec
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_group(
    command: Sequence[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen:
    """`command` in a new session (its own process group), output to `log`."""
    with log.open("ab") as output, sigint_not_ignored():
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
        )


def stop_group(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to the whole group, SIGKILL what is left after `grace` s; then nothing remains."""
    group = process.pid  # the leader of its own session
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    if not group_gone(process, grace):
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        group_gone(process, 10)
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return
    raise RuntimeError(f"process group {group} ({process.args[0]}) survived SIGKILL")


def group_gone(process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, which would otherwise stay in the group as a zombie
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def wait_until(
    what: str,
    found: Callable[[], T | None],
    timeout: float,
    *,
    alive: Sequence[subprocess.Popen] = (),
    interval: float = 0.5,
) -> T:
    """Poll `found` until it returns something; raise naming `what` after `timeout` s, or as soon
    as one of the `alive` processes has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in alive:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) before {what}")
        result = found()
        if result is not None:
            return result
        time.sleep(interval)
    raise TimeoutError(f"no {what} within {timeout:.0f} s")
