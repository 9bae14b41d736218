"""How the benchmark takes and shows its figures: timing, tables, verdicts against targets, the
machine it ran on, and the record it writes into BENCHMARKS.md and README.md.

Only the standard library at import: `--help` stays instant, and the stemming section can still
time the imports it measures.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m benchmarks.bench --record"  # what `make bench` runs
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
PACKAGES = ("dagster", "mlflow", "tensorflow", "keras", "nltk", "pandas")

T = TypeVar("T")
# (measure, figure, verdict) rows: every section adds its own, the run ends with them as one table.
Summary = list[tuple[str, str, str]]


def timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """The function's result and the wall seconds it took."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def seconds_text(value: float | None) -> str:
    """Seconds for a table cell; empty when not measured."""
    return "" if value is None else f"{value:,.3f}"


def verdict(value: float, target: float, *, at_least: bool, unit: str) -> str:
    met = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    return f"target {sign} {target:g}{unit}: {'met' if met else 'NOT met'}"


def print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"{title}\n")
    print(frame.to_markdown(index=frame.index.name is not None))
    print(flush=True)


def summary_table(summary: Summary) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(summary, columns=["measure", "figure", "target"])


def machine_facts() -> pd.DataFrame:
    import pandas as pd

    facts = {
        "cores (os.cpu_count)": str(os.cpu_count()),
        "cores usable by this process": str(len(os.sched_getaffinity(0))),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # Other work on the same cores inflates wall times: the figures say under what load.
        "load average at start (1, 5, 15 min)": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    for package in PACKAGES:
        try:
            facts[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            facts[package] = "not installed"
    return pd.DataFrame({"value": facts}).rename_axis("fact")


class Tee(io.TextIOBase):
    """Print as usual and keep a copy for BENCHMARKS.md."""

    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def record(output: str, summary: Summary, candidates: pd.DataFrame | None) -> None:
    """BENCHMARKS.md gets the whole output; README.md's marked block gets the two headline tables."""
    when = time.strftime("%Y-%m-%d")
    record_section("main", COMMAND, output)
    block = [f"Measured by `make bench` on {when} ({_machine_line()}).", ""]
    block += [summary_table(summary).to_markdown(index=False), ""]
    if candidates is not None:
        block += [
            "Every candidate on the test split of the three real drops (threshold tuned on "
            "validation; training seconds are wall time inside `trained_models`, one candidate at a time):",
            "",
            candidates.to_markdown(index=False),
        ]
    _replace_readme_block(README_START, README_END, "\n".join(block))


def record_section(name: str, command: str, output: str) -> None:
    """Replace one benchmark's section of BENCHMARKS.md (between its markers) with its output;
    the other benchmarks' sections stay as they are."""
    path = PROJECT_ROOT / "BENCHMARKS.md"
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    section = (
        f"{start}\nWritten by `{command}` on {time.strftime('%Y-%m-%d')}; re-run it to refresh. "
        f"Nothing here is typed by hand.\n\n```\n{output}```\n{end}"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def record_readme_block(name: str, block: str) -> None:
    """Replace README.md's block between `<!-- bench:<name>:start -->` and its end marker."""
    _replace_readme_block(f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->", block)


def missing_readme_blocks(names: tuple[str, ...]) -> list[str]:
    """The names among `names` whose start or end marker README.md lacks."""
    text = (PROJECT_ROOT / "README.md").read_text()
    return [
        name
        for name in names
        if f"<!-- bench:{name}:start -->" not in text or f"<!-- bench:{name}:end -->" not in text
    ]


def _replace_readme_block(start_marker: str, end_marker: str, block: str) -> None:
    readme = PROJECT_ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(start_marker) + len(start_marker), text.index(end_marker)
    readme.write_text(text[:start] + "\n" + block + "\n" + text[end:])


def _machine_line() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("dagster", "mlflow", "tensorflow")
    )
