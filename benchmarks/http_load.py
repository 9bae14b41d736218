"""`python -m benchmarks.http_load`: a bounded HTTP load on a scoring server, from its own process.

A fixed number of keep-alive connections each send the next request as soon as the answer to the
last one is in (a closed loop: the load never exceeds what the server takes). Requests cycle
through the given bodies. Only answers completed inside the measured window count; the window
follows a warm-up. Prints one JSON object: requests, errors, seconds, latency percentiles and this
process's own CPU seconds (what the load took from the shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


async def _connection(
    port: int,
    requests: list[bytes],
    offset: int,
    start: float,
    end: float,
    latencies: list[float],
    failures: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = offset
    try:
        while time.perf_counter() < end:
            began = time.perf_counter()
            writer.write(requests[sent % len(requests)])
            sent += 1
            status = int((await reader.readline()).split()[1])
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            done = time.perf_counter()
            if start <= done <= end:
                latencies.append(done - began)
                if status != 200:
                    failures.append(status)
    finally:
        writer.close()


async def _load(
    port: int, requests: list[bytes], connections: int, warmup: float, seconds: float
) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    failures: list[int] = []
    start = time.perf_counter() + warmup
    end = start + seconds
    await asyncio.gather(
        *(
            _connection(port, requests, i, start, end, latencies, failures)
            for i in range(connections)
        )
    )
    return latencies, failures


def run(port: int, bodies: list[bytes], connections: int, warmup: float, seconds: float) -> dict:
    """Load the server at `port` with POSTs of `bodies` to /invocations; what it answered."""
    requests = [
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in bodies
    ]
    latencies, failures = asyncio.run(_load(port, requests, connections, warmup, seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    milliseconds = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": len(failures),
        "error_statuses": sorted(set(failures)),
        "seconds": seconds,
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
    args = parser.parse_args(argv)
    bodies = [json.dumps(body).encode() for body in json.loads(args.bodies.read_text())]
    result = run(args.port, bodies, args.connections, args.warmup, args.seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
