"""`python -m benchmarks.http_load`: a bounded HTTP load on a scoring server, from its own process.

A fixed number of keep-alive connections each send the next request as soon as the answer to the
last one is in (a closed loop: the load never exceeds what the server takes). The connections open
one after another, `--stagger` seconds apart, each loaded as soon as it is open: opened in one
burst, they all went to one worker of a server with two (its asyncio loop accepts every pending
connection at once), in two rounds of three measured, and a keep-alive connection stays with the
worker that took it. Requests cycle
through the given bodies. Only answers completed inside the measured window count; the window
follows a warm-up, and when it closes with fewer than `--min-answers` answers (large batches on a
slow server) it stays open until that many are in, so no percentile is taken of nothing. Prints
one JSON object: requests, errors, the window's seconds, latency percentiles and this process's
own CPU seconds (what the load took from the shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Window:
    """The measured window: `seconds` after `start`, longer until `min_answers` are in."""

    start: float
    seconds: float
    min_answers: int
    latencies: list[float] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    closed_at: float | None = None

    def is_open(self, now: float) -> bool:
        if self.closed_at is None and now >= self.start + self.seconds and self._enough():
            self.closed_at = self.start + self.seconds
        return self.closed_at is None

    def count(self, began: float, done: float, status: int) -> None:
        if done < self.start or not self.is_open(done):
            return
        self.latencies.append(done - began)
        if status != 200:
            self.failures.append(status)
        if done >= self.start + self.seconds and self._enough():
            self.closed_at = done  # a window kept open ends with the answer that filled it

    def _enough(self) -> bool:
        return len(self.latencies) >= self.min_answers


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message: its first line and its body (sized by Content-Length); (b"", b"")
    when the connection is closed."""
    first = await reader.readline()
    length = 0
    while first and (header := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return first, await reader.readexactly(length)


async def _connection(port: int, requests: list[bytes], offset: int, window: Window) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = offset
    try:
        while window.is_open(time.perf_counter()):
            began = time.perf_counter()
            writer.write(requests[sent % len(requests)])
            sent += 1
            status = int((await read_message(reader))[0].split()[1])
            window.count(began, time.perf_counter(), status)
    finally:
        writer.close()


async def _load(
    port: int,
    requests: list[bytes],
    connections: int,
    warmup: float,
    window: Window,
    stagger: float,
) -> None:
    window.start = time.perf_counter() + warmup
    loads = []
    for i in range(connections):
        # A worker busy with the connections it took lets an idle one accept the next.
        loads.append(asyncio.create_task(_connection(port, requests, i, window)))
        await asyncio.sleep(stagger)
    await asyncio.gather(*loads)


def run(
    port: int,
    bodies: list[bytes],
    connections: int,
    warmup: float,
    seconds: float,
    min_answers: int,
    stagger: float = 0.05,
) -> dict:
    """Load the server at `port` with POSTs of `bodies` to /invocations; what it answered."""
    requests = [
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in bodies
    ]
    window = Window(0.0, seconds, min_answers)
    asyncio.run(_load(port, requests, connections, warmup, window, stagger))
    latencies, failures = window.latencies, window.failures
    usage = resource.getrusage(resource.RUSAGE_SELF)
    milliseconds = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": len(failures),
        "error_statuses": sorted(set(failures)),
        "seconds": window.closed_at - window.start,
        "p50_ms": float(np.percentile(milliseconds, 50)) if len(latencies) else None,
        "p99_ms": float(np.percentile(milliseconds, 99)) if len(latencies) else None,
        "max_ms": float(milliseconds.max()) if len(latencies) else None,
        "client_cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="a JSON list of JSON bodies")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--min-answers", type=int, default=20)
    parser.add_argument(
        "--stagger", type=float, default=0.05, help="seconds between opening two connections"
    )
    args = parser.parse_args(argv)
    bodies = [json.dumps(body).encode() for body in json.loads(args.bodies.read_text())]
    result = run(
        args.port,
        bodies,
        args.connections,
        args.warmup,
        args.seconds,
        args.min_answers,
        args.stagger,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
