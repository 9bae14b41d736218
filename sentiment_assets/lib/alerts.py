"""Run-failure alerts: a JSON line in $SENTIMENT_DATA_DIR/alerts.jsonl, and a webhook POST if set."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any


def append_alert(alert: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(alert, sort_keys=True) + "\n")


def post_alert(alert: dict[str, Any], url: str, timeout: float = 10.0) -> int:
    """POST the alert as JSON; returns the HTTP status. Raises on a network or HTTP error."""
    request = urllib.request.Request(
        url,
        data=json.dumps(alert, sort_keys=True).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status
