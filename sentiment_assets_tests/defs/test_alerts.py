"""The failure-alert sensor on real failed runs: the line carries the cause, and a webhook that
does not answer is logged without holding the sensor."""

import errno
import json
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sentiment_assets.lib import drops, settings
from sentiment_assets_tests.support import ingest, raise_alert


def _alerts() -> list[dict]:
    return [json.loads(line) for line in settings.alerts_path().read_text().splitlines()]


def test_an_alert_carries_the_failed_steps_error(data_dir: Path, instance) -> None:
    (data_dir / "landing" / "bad.csv").write_bytes(
        b",Review Text,Recommended IND\n0,Lovely,1\n1,Awful,yes\n"
    )
    failed = ingest(instance, ["bad"])["bad"]
    raise_alert(instance, failed)

    (alert,) = _alerts()
    assert alert["run_id"] == failed.run_id and alert["partition"] == "bad"
    assert alert["causes"] == [
        {
            "step": "raw_reviews",
            "error": "bad.csv: Recommended IND must be 0 or 1: 1 of 2 rows hold something else "
            "('yes' (1x)): review_id 1 (line 3)",
        }
    ]
    # Alerts quote drops (personal data): owner-only file in an owner-only folder.
    assert stat.S_IMODE(settings.alerts_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.alerts_path().parent.stat().st_mode) == 0o700


@pytest.mark.slow  # waits out the retries
def test_an_alert_for_a_read_error_names_the_file_after_the_retries(
    data_dir: Path, instance, monkeypatch
) -> None:
    (data_dir / "landing" / "r.csv").write_bytes(b",Review Text,Recommended IND\n0,Nice,1\n")

    def stale(path: Path) -> drops.DropBytes:
        raise OSError(errno.ESTALE, "Stale file handle")

    monkeypatch.setattr(drops, "read_drop", stale)
    raise_alert(instance, ingest(instance, ["r"])["r"])

    (alert,) = _alerts()
    assert alert["causes"] == [
        {
            "step": "raw_reviews",
            "error": "r.csv: cannot be read (Stale file handle); it stays in the landing folder",
        }
    ]


@pytest.mark.slow  # waits out the webhook deadline
def test_a_webhook_that_does_not_answer_is_logged_after_the_line_is_written(
    data_dir: Path, instance, monkeypatch, capsys
) -> None:
    lines_when_posted: list[int] = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            lines_when_posted.append(len(_alerts()))
            try:
                for byte in b"HTTP/1.1 204 No Content\r\n" + b"X: " + b"." * 300 + b"\r\n\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)  # about a minute for the whole answer
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/t/xyz")
    monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK_TIMEOUT", "6")
    (data_dir / "landing" / "bad.csv").write_bytes(b",Title\n0,Nice\n")
    failed = ingest(instance, ["bad"])["bad"]
    try:
        raise_alert(instance, failed)  # returns: the POST gave up at its deadline
    finally:
        server.shutdown()
        server.server_close()

    assert lines_when_posted == [1, 1]  # the line was there before each attempt
    assert [a["run_id"] for a in _alerts()] == [failed.run_id]
    logged = capsys.readouterr().err
    assert (
        f"alert for run {failed.run_id} (also in alerts.jsonl) not delivered to "
        f"http://127.0.0.1:{server.server_port} within 6 s: no complete answer within" in logged
    )
    assert "/t/xyz" not in logged


@pytest.mark.parametrize("timeout", ["", "3.5"])
def test_the_webhook_deadline_is_a_setting(monkeypatch, timeout: str) -> None:
    monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK_TIMEOUT", timeout)
    assert settings.alert_webhook_timeout() == (float(timeout) if timeout else 10.0)


@pytest.mark.slow  # waits out the retries
def test_an_alert_for_an_unexpected_error_carries_the_exception_and_its_cause(
    data_dir: Path, instance, monkeypatch
) -> None:
    (data_dir / "landing" / "r.csv").write_bytes(b",Review Text,Recommended IND\n0,Nice,1\n")

    def broken(data: bytes, path: Path) -> None:
        raise KeyError("a bug, not the drop")

    monkeypatch.setattr("sentiment_assets.defs.ingestion.assets.parse_reviews", broken)
    raise_alert(instance, ingest(instance, ["r"])["r"])

    (alert,) = _alerts()
    assert alert["causes"] == [
        {
            "step": "raw_reviews",
            "error": "Exceeded max_retries of 2; caused by: KeyError: 'a bug, not the drop'",
        }
    ]
    assert (data_dir / "landing" / "r.csv").exists()  # a bug is not bad content


def test_sentiment_run_raises_its_runs_alerts_once_without_the_daemon(
    data_dir: Path, instance, capfd
) -> None:
    """No daemon, no sensor: `make run` on a schedule alerted nothing (a README review), and a
    daemon started later only looks at runs that end after it starts."""
    from sentiment_assets.cli import run
    from sentiment_assets.defs.platform.alerts import deliver, run_alerts

    (data_dir / "landing" / "bad.csv").write_bytes(
        b",Review Text,Recommended IND\n0,Lovely,1\n1,Awful,maybe\n"
    )
    assert run.main(["-v"]) == 1
    shown = capfd.readouterr()
    assert f"1 alert(s) written to {settings.alerts_path()}" in shown.err
    # With no drop read, nothing trains (a training run failed on the empty dataset).
    assert "Nothing to train: no drop has been read yet" in shown.out

    (alert,) = _alerts()
    assert alert["partition"] == "bad" and alert["check"] is None
    assert alert["causes"][0]["error"].startswith("bad.csv: Recommended IND must be 0 or 1")
    # The daemon's sensor, looking at the same run afterwards, writes nothing again.
    failed = instance.get_run_by_id(alert["run_id"])
    assert deliver(run_alerts(instance, failed), print) == 0
    assert len(_alerts()) == 1
