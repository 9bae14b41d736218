"""Alerts: the line in alerts.jsonl, and the webhook POST's deadline and retry against local servers."""

import json
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sentiment_assets.lib.alerts import (
    Alert,
    AlertNotDelivered,
    Deadline,
    StepError,
    append_alert,
    post_alert,
    where,
)

ALERT = Alert(
    time="2026-11-27T08:00:00+00:00",
    job="ingest_drop",
    run_id="abc",
    partition="bad",
    assets=["raw_reviews"],
    error="Execution of run for \"ingest_drop\" failed. Steps failed: ['raw_reviews'].",
    causes=[StepError(step="raw_reviews", error="bad.csv: Recommended IND must be 0 or 1 ...")],
)


class Webhook:
    """What a local webhook server saw: request bodies, and clients that left mid-answer."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.left = threading.Event()


@contextmanager
def webhook(answer: Callable[[BaseHTTPRequestHandler, int], None]) -> Iterator[tuple[str, Webhook]]:
    """A local HTTP server; `answer(handler, n)` answers the n-th POST (0-based)."""
    seen = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            try:
                answer(self, len(seen.bodies) - 1)
            except (BrokenPipeError, ConnectionResetError):
                seen.left.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/secret-token", seen
    finally:
        server.shutdown()
        server.server_close()


def status(code: int) -> Callable[[BaseHTTPRequestHandler, int], None]:
    def answer(handler: BaseHTTPRequestHandler, _: int) -> None:
        handler.send_response(code)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def trickle(handler: BaseHTTPRequestHandler, _: int) -> None:
    """A complete, valid answer, one byte every 0.2 s: well within any per-read timeout, and
    finished only after about a minute."""
    answer = b"HTTP/1.1 204 No Content\r\n" + b"X-Padding: " + b"." * 250 + b"\r\n\r\n"
    for byte in answer:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.2)


def test_the_alert_is_posted_as_json():
    with webhook(status(204)) as (url, seen):
        assert post_alert(ALERT, url, Deadline(10)) == 204
    assert seen.bodies == [ALERT.model_dump()]


@pytest.mark.slow  # waits out the deadline
def test_a_webhook_that_trickles_its_answer_is_left_at_the_deadline_after_one_retry():
    with webhook(trickle) as (url, seen):
        with pytest.raises(AlertNotDelivered) as caught:
            post_alert(ALERT, url, Deadline(6))
        assert seen.left.wait(10)  # the server saw the client go, mid-answer
    assert len(seen.bodies) == 2  # tried twice, each within its share of the deadline
    message = str(caught.value)
    assert message.startswith(f"not delivered to {where(url)} within 6 s: no complete answer ")
    assert message.count("no complete answer within") == 2


@pytest.mark.slow  # waits out the deadline
def test_alerts_sharing_a_deadline_are_not_posted_once_it_is_spent():
    deadline = Deadline(6)
    with webhook(trickle) as (url, seen):
        for _ in range(3):
            with pytest.raises(AlertNotDelivered) as caught:
                post_alert(ALERT, url, deadline)
    assert len(seen.bodies) == 2  # the first alert's two attempts; the others found no time left
    assert str(caught.value) == (
        f"not delivered to {where(url)} within 6 s: the deadline was spent on the alerts before it"
    )


@pytest.mark.parametrize("first", [503, 408, 429], ids=["server error", "timeout", "too many"])
def test_a_server_error_a_timeout_or_too_many_requests_is_tried_again(first):
    with webhook(lambda h, n: status(first if n == 0 else 204)(h, n)) as (url, seen):
        assert post_alert(ALERT, url, Deadline(10)) == 204
    assert len(seen.bodies) == 2


def test_a_refused_alert_is_not_sent_again():
    with webhook(status(400)) as (url, seen), pytest.raises(AlertNotDelivered, match="HTTP 400"):
        post_alert(ALERT, url, Deadline(10))
    assert len(seen.bodies) == 1


def test_no_server_at_all_is_reported_without_the_url_path():
    with webhook(status(204)) as (url, _):
        pass  # the server is gone: nothing listens on its port any more
    with pytest.raises(AlertNotDelivered) as caught:
        post_alert(ALERT, url, Deadline(5))
    assert "Connection refused" in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_where_keeps_neither_path_nor_credentials():
    assert where("https://user:pw@hooks.example.com:8443/T0/B1/xyz?token=1") == (
        "https://hooks.example.com:8443"
    )


def test_alert_lines_are_appended_to_an_owner_only_file(tmp_path):
    path = tmp_path / "alerts" / "alerts.jsonl"
    path.parent.mkdir()
    path.write_text("")
    path.chmod(0o644)  # written before alerts were private
    append_alert(ALERT, path)
    append_alert(ALERT.model_copy(update={"run_id": "def"}), path)
    assert [json.loads(line)["run_id"] for line in path.read_text().splitlines()] == ["abc", "def"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_alert_already_in_the_file_is_not_written_again(tmp_path):
    """The daemon's sensors and sentiment-run may both raise a run's alerts."""
    path = tmp_path / "alerts" / "alerts.jsonl"
    check = ALERT.model_copy(update={"check": "score_drift", "severity": "WARN"})
    assert append_alert(ALERT, path)
    assert not append_alert(ALERT.model_copy(update={"time": "later"}), path)
    assert append_alert(check, path)  # another finding of the same run
    assert not append_alert(check, path)
    assert [json.loads(line)["check"] for line in path.read_text().splitlines()] == [
        None,
        "score_drift",
    ]


def test_an_alert_after_a_line_cut_short_is_a_line_of_its_own(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"time": "2026-11-28T10:00:00+00:00", "job": "ingest_dr')  # a full disk
    assert append_alert(ALERT, path)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["run_id"] == "abc"


def test_a_line_cut_inside_a_character_stops_no_alert(tmp_path):
    """Alerts quote reviews: a full disk can cut a line inside a UTF-8 character."""
    path = tmp_path / "alerts.jsonl"
    quoted = ALERT.model_copy(update={"error": "Très déçue, la robe était trop grande"})
    line = quoted.model_dump_json().encode()
    path.write_bytes(line[: line.index("è".encode()) + 1])  # the first of its two bytes
    assert append_alert(ALERT, path)
    assert not append_alert(ALERT, path)
    assert json.loads(path.read_bytes().splitlines()[1])["run_id"] == "abc"
