"""Work in threads that an interrupt can stop: Dagster terminates a run with SIGINT, which Python
delivers to the main thread only, so the main thread waits and tells the workers to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

# The signal may land on any thread (TensorFlow's too), and then does not wake a main thread blocked
# on a lock: it waits in slices, so the interrupt is raised within one.
POLL_SECONDS = 0.2
T = TypeVar("T")
R = TypeVar("R")


class Stopped(KeyboardInterrupt):
    """Raised inside a worker that was told to stop: an interrupt, as the main thread's was, so
    what the worker had open (an MLflow run) ends as interrupted."""


def check(stop: threading.Event | None) -> None:
    """Raise `Stopped` once `stop` is set; workers call it where stopping is safe."""
    if stop is not None and stop.is_set():
        raise Stopped


def run_in_threads(
    work: Callable[[T, threading.Event], R],
    items: Sequence[T],
    on_result: Callable[[R], None],
    *,
    workers: int,
) -> None:
    """`work(item, stop)` for every item, `workers` at a time; `on_result` in the calling thread as
    each finishes. On an interrupt or a failure: `stop` is set, no further item starts, the running
    ones are waited for (they stop at their next `check`), and the first error is raised."""
    stop = threading.Event()

    def guarded(item: T) -> R:
        check(stop)
        return work(item, stop)

    with ThreadPoolExecutor(workers, thread_name_prefix="stoppable") as pool:
        futures = [pool.submit(guarded, item) for item in items]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            _wait_out(futures)
            raise


def _wait_out(futures: list[Future]) -> None:
    """Wait for every future, through further interrupts (a second SIGINT must not leave a worker
    running after the caller has gone)."""
    while True:
        try:
            if not wait(futures, POLL_SECONDS).not_done:
                return
        except KeyboardInterrupt:
            continue
