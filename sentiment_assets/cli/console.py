"""What `sentiment-run` shows a person: live progress taken from Dagster's events and from the
training's own log lines, the libraries' output in a log file unless -v, and a closing summary.

`run.py` decides what runs; this module only renders. Every line is plain text when the output is
not a terminal (piped, CI); in a terminal, rich adds colour and a spinner naming the current step.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from sentiment_assets.lib import settings

if TYPE_CHECKING:
    import dagster as dg
    from dagster import EventLogEntry
    from dagster_shared.error import SerializableErrorInfo

    from sentiment_assets.lib.production import ProductionDecision
    from sentiment_assets.lib.training import CandidateResult, TrainedModels

# The libraries' own switches, read when they are imported: TensorFlow's C++ INFO/WARNING lines
# and MLflow's artifact download bars. TensorFlow 2.21 still writes its start-up lines (oneDNN,
# CUDA) through absl before honouring the first, so the job's output goes to a file as well.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
TRAINING_LOGGER = "sentiment_assets.lib.training"
# Metadata entries worth a word on the progress line, besides the row count.
_SHOWN_TEXT = ("decision", "status")
# Dagster's line for each step it does not run because a step it reads failed (an error without an
# event, like an asset's own; `dagster/_core/execution/plan/active.py`): the failure is shown once.
_NOT_EXECUTED = re.compile(r"Dependencies for step \S+ (failed|were not executed).*Not executing\.")
# Width of the plain-text output (a CI log has no terminal to ask).
_PLAIN_WIDTH = 120


class RunConsole:
    """Progress and summary of one `sentiment-run`; `verbose` lets every library line through."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.log_path = settings.run_log_path()
        self.last_run_id: str | None = None
        # Copies of stdout and stderr taken now: while a job runs, Dagster captures both file
        # descriptors for its compute logs, and (unless verbose) they lead to the log file.
        self.out = _console(os.dup(1))
        self.err = _console(os.dup(2))
        self._status: Live | None = None
        if not verbose:
            for name, value in QUIET_ENVIRONMENT.items():
                os.environ.setdefault(name, value)

    def start_log(self) -> None:
        """The log of what the libraries print, emptied for this run: called once the run may go
        on, so a run that is refused leaves the last one's log as it was."""
        if not self.verbose:
            settings.private_dir(self.log_path.parent)
            self.log_path.write_text("")
            self.log_path.chmod(settings.PRIVATE_FILE_MODE)

    def step(self, text: str) -> None:
        """A heading: what the run does next."""
        self.out.print(f"[bold]{escape(text)}[/bold]")

    def problem(self, text: str) -> None:
        self.err.print(escape(text), style="red")

    @contextmanager
    def job(self, instance: dg.DagsterInstance, title: str) -> Iterator[str]:
        """Around one `execute_in_process`: the run id to give it, whose events are shown as they
        come, with the training's progress lines; unless verbose, what the libraries print while
        it runs goes to the log file."""
        run_id = str(uuid.uuid4())
        self.last_run_id = run_id
        instance.add_event_listener(run_id, self._on_event)
        training = logging.getLogger(TRAINING_LOGGER)
        handler = _Progress(self)
        level = training.level
        training.setLevel(logging.INFO)
        training.addHandler(handler)
        try:
            with ExitStack() as stack:
                if not self.verbose:
                    settings.private_dir(self.log_path.parent)  # `start_log` may not have run
                    stack.enter_context(_output_to(self.log_path))
                    if self.out.is_terminal:
                        self._status = stack.enter_context(self._spinner(title))
                yield run_id
        finally:
            self._status = None
            training.removeHandler(handler)
            training.setLevel(level)

    def training_line(self, record: logging.LogRecord) -> None:
        """A line of the training's progress; in a terminal, an epoch only updates the spinner
        (a Keras candidate may run 30 of them), elsewhere (a CI log) each is a line."""
        if getattr(record, "epoch", None) is None or self._status is None:
            self.out.print(f"  {escape(record.getMessage())}")
        self._show_status(record.getMessage())

    def _on_event(self, entry: EventLogEntry) -> None:
        # Called inside Dagster's event handling: showing progress must never fail the run.
        try:
            self._show_event(entry)
        except Exception as err:
            self.problem(
                f"  (progress display failed on a {entry.dagster_event_type} event: {err})"
            )

    def _show_event(self, entry: EventLogEntry) -> None:
        import dagster as dg

        event = entry.dagster_event
        if event is None:  # a line an asset logged (context.log)
            if entry.level >= logging.WARNING and not _NOT_EXECUTED.match(entry.user_message):
                self.out.print(f"  ! {escape(entry.user_message)}", style="yellow")
            return
        if event.is_step_start:
            self._show_status(event.step_key or "")
        elif event.is_step_materialization:
            self._materialized(event.materialization)
        elif event.is_step_up_for_retry:
            self.out.print(f"  {event.step_key}: {escape(entry.message)}", style="yellow")
        elif event.is_step_failure:
            data = event.step_failure_data
            why = data.user_failure_data.description if data.user_failure_data else None
            why = why or (_raised(data.error) if data.error else "failed")
            self.problem(f"  ✗ {event.step_key} failed: {why}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            if not check.passed:
                name = f"{check.asset_key.to_user_string()} {check.check_name}"
                # What it found, as a step failure says why: else only the UI would tell.
                found = f": {check.description}" if check.description else ""
                self.out.print(f"  ! check {escape(name + ' failed' + found)}", style="yellow")

    def _materialized(self, materialization: dg.AssetMaterialization) -> None:
        name = materialization.asset_key.to_user_string()
        if materialization.partition:
            name += f" ({materialization.partition})"
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        rows = metadata.get("dagster/row_count")
        parts = [f"{rows:,} rows"] if isinstance(rows, int) else []
        parts += [str(metadata[key]) for key in _SHOWN_TEXT if key in metadata]
        details = f": {', '.join(parts)}" if parts else ""
        self.out.print(f"  [green]✓[/green] {escape(name + details)}")

    def _spinner(self, text: str) -> Live:
        # Not rich's `status`: that would take over sys.stdout and sys.stderr, and so bring the
        # libraries' lines back to the terminal.
        return Live(
            Spinner("dots", escape(text)),
            console=self.out,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def _show_status(self, text: str) -> None:
        if self._status is not None:
            self._status.update(Spinner("dots", escape(text)))

    def summary(self, decision: ProductionDecision | None, trained: TrainedModels | None) -> None:
        """The candidates' validation and test figures, the decision and why, production's
        version and figures, and where to look next."""
        from sentiment_assets.lib.tracking import PRODUCTION_URI, MlflowStore

        store = MlflowStore.default()
        challenger = None
        if trained is not None:
            best = decision.challenger.run_id if decision else None
            promoted = decision is not None and decision.promoted
            self.out.print(candidates_table(trained.candidates, best, promoted))
            challenger = next((c for c in trained.candidates if c.run_id == best), None)
        if decision is not None:
            verdict = "promoted" if decision.promoted else "kept production"
            self.out.print(f"[bold]Decision:[/bold] {verdict}: {escape(decision.reason)}")
            production = decision.production
            if production is not None:
                test = production.test
                self.out.print(
                    f"[bold]Production:[/bold] {PRODUCTION_URI} = version "
                    f"{decision.production_version} ({escape(production.name)}): test ROC AUC "
                    f"{test.roc_auc:.4f}, F1 of 'not recommended' {test.not_recommended_f1:.4f}, "
                    f"accuracy {test.accuracy:.4f}"
                )
        self.out.print("[bold]Next:[/bold]")
        if self.last_run_id is not None:
            url = f"{settings.dagster_ui_url()}/runs/{self.last_run_id}"
            self.out.print(f"  Dagster UI (make dev): {url}")
        if trained is not None and trained.training_run_id is not None:
            url = store.run_url(trained.candidates[0].experiment_id, trained.training_run_id)
            self.out.print(f"  MLflow run of the training (make mlflow-ui): {url}")
        if challenger is not None:
            url = store.run_url(challenger.experiment_id, challenger.run_id)
            self.out.print(f"  MLflow run of {escape(challenger.name)} (make mlflow-ui): {url}")
        if decision is not None and decision.production_version is not None:
            url = store.model_version_url(decision.production_version)
            self.out.print(f"  Production version in MLflow: {url}")
        if not self.verbose:
            self.out.print(f"  What the libraries printed: {self.log_path} (-v shows it here)")


def candidates_table(
    candidates: list[CandidateResult], challenger_run: str | None, promoted: bool
) -> Table:
    """One row per candidate: validation and test figures, epochs and seconds, and which one was
    the challenger (promoted or not); the families are in the progress lines and MLflow."""
    table = Table(
        box=box.SIMPLE_HEAD,
        title="Candidates (F1 of 'not recommended'; the challenger is the best on validation)",
        pad_edge=False,
        title_justify="left",
    )
    # Names whole; the headings wrap first in a narrow terminal.
    table.add_column("candidate", min_width=max((len(c.name) for c in candidates), default=9))
    for heading in ("val ROC AUC", "val F1", "test ROC AUC", "test F1"):
        table.add_column(heading, justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("")
    for c in candidates:
        role = ""
        if c.run_id == challenger_run:
            role = "promoted" if promoted else "challenger"
        table.add_row(
            c.name,
            f"{c.validation.roc_auc:.4f}",
            f"{c.validation.not_recommended_f1:.4f}",
            f"{c.test.roc_auc:.4f}",
            f"{c.test.not_recommended_f1:.4f}",
            str(c.epochs_trained) if c.history else "-",
            f"{c.training_seconds:.1f}",
            role,
        )
    return table


class _Progress(logging.Handler):
    """The training's progress records, to the console."""

    def __init__(self, console: RunConsole) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.training_line(record)


def _console(fd: int) -> Console:
    stream: IO[str] = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
    terminal = stream.isatty()
    return Console(
        file=stream, highlight=False, soft_wrap=True, width=None if terminal else _PLAIN_WIDTH
    )


@contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """File descriptors 1 and 2 to the end of `path`: Python's and the C++ libraries' output."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with path.open("a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


# Dagster's errors that wrap what a step raised: their message names the step, not the problem.
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}


def _raised(error: SerializableErrorInfo) -> str:
    """What a step raised, in one line: the exception Dagster wrapped (`numpy...ArrayMemoryError:
    Unable to allocate 53.0 GiB ...`), not the wrapper's `Error occurred while executing op`."""
    while error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1]
