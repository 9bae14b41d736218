"""The logged model takes raw review text, applies the bundled preprocessing, and can be served."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from sentiment_assets import registry


@pytest.fixture
def production(production_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(production_store["uri"])
    mlflow.set_registry_uri(production_store["uri"])
    return production_store


def test_raw_text_in_probability_and_label_out(production) -> None:
    model = mlflow.pyfunc.load_model(registry.PRODUCTION_URI)
    reviews = production["dataset"].split_reviews("test")
    predictions = model.predict(pd.DataFrame({"review_text": reviews["text"]}))

    assert list(predictions.columns) == ["probability", "label"]
    assert len(predictions) == len(reviews)
    assert predictions["probability"].between(0, 1).all()
    # The decision threshold was tuned on validation and travels with the model.
    threshold = production["result"]["threshold"]
    assert (predictions["label"] == (predictions["probability"] >= threshold)).all()
    # Serving applies the very preprocessing that built the training data: same numbers.
    assert production["result"]["test"]["roc_auc"] == pytest.approx(
        __import__("sklearn.metrics").metrics.roc_auc_score(
            reviews["label"], predictions["probability"]
        )
    )


def test_signature_asks_for_review_text_and_an_optional_title(production) -> None:
    signature = mlflow.pyfunc.load_model(registry.PRODUCTION_URI).metadata.signature
    inputs = {c.name: c for c in signature.inputs.inputs}
    assert inputs["review_text"].required and not inputs["title"].required
    assert [c.name for c in signature.outputs.inputs] == ["probability", "label"]


def test_the_model_carries_its_code_and_no_pickled_model_class(production) -> None:
    local = Path(mlflow.artifacts.download_artifacts(registry.PRODUCTION_URI))
    assert (local / "code" / "sentiment_assets" / "preprocessing.py").exists()
    assert (local / "code" / "sentiment_assets" / "stopwords_english.txt").exists()
    serving = json.loads(next(local.rglob("serving.json")).read_text())
    assert serving == {"family": "seed-keras", "threshold": production["result"]["threshold"]}
    config = json.loads(next(local.rglob("config.json")).read_text())
    assert len(config["words"]) == production["dataset"].vocabulary.size - 2
    assert not list(local.rglob("python_model.pkl"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlflow_models_serve_answers_invocations_with_raw_text(production) -> None:
    port = _free_port()
    # The scoring server starts `uvicorn` by name: the venv's bin must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": production["uri"], "PATH": path}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            registry.PRODUCTION_URI,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        body = json.dumps(
            {
                "dataframe_split": {
                    "columns": ["review_text"],
                    "data": [
                        ["I love this dress, it fits perfectly"],
                        ["Cheap fabric, returning it"],
                    ],
                }
            }
        ).encode()
        deadline = time.monotonic() + 120
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invocations",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, "mlflow models serve exited"
                assert time.monotonic() < deadline, "mlflow models serve did not answer in 120 s"
                time.sleep(1)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    rows = answer["predictions"]
    texts = ["I love this dress, it fits perfectly", "Cheap fabric, returning it"]
    local = mlflow.pyfunc.load_model(registry.PRODUCTION_URI).predict(
        pd.DataFrame({"review_text": texts})
    )
    assert [r["label"] for r in rows] == local["label"].tolist()
    assert np.allclose([r["probability"] for r in rows], local["probability"], atol=1e-6)
