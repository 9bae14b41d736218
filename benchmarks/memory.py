"""Peak memory of a command and of each Dagster step it runs: its process tree's resident memory,
sampled from outside while it runs, then cut at the steps' start and end in the event log."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg
    import psutil

SAMPLE_SECONDS = 0.05


@dataclass
class MemoryTrace:
    """(time, bytes) of a process tree's resident memory, every SAMPLE_SECONDS while it ran."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)

    def peak_between(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def run_traced(
    command: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path
) -> tuple[int, float, MemoryTrace]:
    """Run `command` to its end; its exit code, wall seconds and memory trace (the process and
    every child it started, summed)."""
    import psutil

    trace = MemoryTrace()
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
        done = threading.Event()

        def sample() -> None:
            root = psutil.Process(process.pid)
            while not done.is_set():
                try:
                    trace.samples.append((time.time(), tree_resident_bytes(root)))
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    return  # the command has ended (a zombie can no longer be read)
                time.sleep(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    return code, time.perf_counter() - started, trace


def tree_resident_bytes(root: psutil.Process) -> int:
    """The resident memory of `root` and of every process under it, summed.

    A child that still runs its parent's program (forked, its own program not started yet) shares
    the parent's pages, and its resident set counts them all: one sample of `sentiment-run` read
    2.2 GiB that way for a 1.1 GiB process. Such a child counts what it holds alone (USS).
    """
    import psutil

    total = root.memory_info().rss
    for child in root.children(recursive=True):
        try:
            parent = child.parent()
            if parent is not None and child.cmdline() == parent.cmdline():
                total += child.memory_full_info().uss
            else:
                total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # gone meanwhile, or not ours to read
    return total


def step_intervals(instance: dg.DagsterInstance) -> dict[str, list[tuple[float, float]]]:
    """Each step's (start, end) in every run of the instance, seconds since the epoch."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    intervals: dict[str, list[tuple[float, float]]] = {}
    for record in instance.get_run_records():
        started: dict[str, float] = {}
        for entry in instance.all_logs(record.dagster_run.run_id, of_type=kinds):
            event = entry.dagster_event
            if entry.step_key is None or event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started.setdefault(entry.step_key, entry.timestamp)
            elif entry.step_key in started:
                interval = (started.pop(entry.step_key), entry.timestamp)
                intervals.setdefault(entry.step_key, []).append(interval)
    return intervals


def step_peaks(
    trace: MemoryTrace, intervals: dict[str, list[tuple[float, float]]]
) -> dict[str, int]:
    """The highest memory seen while each step ran (any of its runs)."""
    return {
        step: max(trace.peak_between(start, end) for start, end in spans)
        for step, spans in intervals.items()
    }


def gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"
