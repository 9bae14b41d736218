"""The logged model takes raw review text, scores it with its own copy of the model package, and can
be served."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from sentiment_assets.lib.tracking import PRODUCTION_URI, MlflowStore
from sentiment_assets.model.predictions import InvalidReviews, Predictor, known_titles
from sentiment_assets_tests.processes import free_port, start_group, stop_group, wait_until

# A Keras production model (the session's production_store) logged and loaded through MLflow.
pytestmark = pytest.mark.slow


@pytest.fixture
def production(production_store, monkeypatch):
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(production_store["uri"])
    mlflow.set_registry_uri(production_store["uri"])
    return production_store


def test_raw_text_in_probability_and_label_out(production) -> None:
    model = mlflow.pyfunc.load_model(PRODUCTION_URI)
    reviews = production["dataset"].split_reviews("test")
    predictions = model.predict(pd.DataFrame({"review_text": reviews["text"]}))

    assert list(predictions.columns) == ["probability", "label"]
    assert len(predictions) == len(reviews)
    assert predictions["probability"].between(0, 1).all()
    # The decision threshold was tuned on validation and travels with the model.
    threshold = production["result"].threshold
    assert (predictions["label"] == (predictions["probability"] >= threshold)).all()
    # Serving applies the very preprocessing that built the training data: same numbers.
    assert production["result"].test.roc_auc == pytest.approx(
        __import__("sklearn.metrics").metrics.roc_auc_score(
            reviews["label"], predictions["probability"]
        )
    )


def test_signature_asks_for_review_text_and_an_optional_title(production) -> None:
    signature = mlflow.pyfunc.load_model(PRODUCTION_URI).metadata.signature
    inputs = {c.name: c for c in signature.inputs.inputs}
    assert inputs["review_text"].required and not inputs["title"].required
    assert [c.name for c in signature.outputs.inputs] == ["probability", "label"]


def test_the_logged_model_carries_an_example_that_mlflow_serves(production) -> None:
    """The MLflow UI shows it, and `serving_input_example.json` is a request the scoring server
    takes; MLflow checked, when logging, that the model loads and scores it."""
    from mlflow.models import Model, validate_serving_input

    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI))
    example = Model.load(str(local)).load_input_example(str(local))
    assert list(example.columns) == ["review_text", "title"]
    request = (local / "serving_input_example.json").read_text()
    scored = validate_serving_input(PRODUCTION_URI, request)
    assert list(scored.columns) == ["probability", "label"] and len(scored) == len(example)


def test_the_model_carries_the_model_package_and_no_platform_code(production) -> None:
    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI))
    code = local / "artifacts" / "code"
    shipped = sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file())
    package = Path(__import__("sentiment_assets.model").model.__file__).parent
    expected = sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert shipped == expected
    assert "stems.py" in shipped and "stopwords_english.txt" in shipped
    # Nothing of the platform: no Dagster definitions, commands, benchmark or instance config.
    everything = [p.relative_to(local).as_posix() for p in local.rglob("*")]
    for platform in ("defs", "cli", "lib", "benchmark", "dagster.yaml", "definitions.py"):
        assert not [p for p in everything if platform in p], platform
    assert not [p for p in everything if p.endswith(".pkl")]
    serving = json.loads((local / "artifacts" / "candidate" / "serving.json").read_text())
    assert serving == {"family": "seed-keras", "threshold": production["result"].threshold}
    # A Keras model pins TensorFlow; nothing pins the platform.
    requirements = (local / "requirements.txt").read_text()
    assert "tensorflow==" in requirements and "dagster" not in requirements


def test_a_logged_version_scores_with_its_own_code_not_the_installed_one(
    production, monkeypatch
) -> None:
    from sentiment_assets.model.candidates.seed_keras import SeedKeras

    reviews = pd.DataFrame({"review_text": ["Lovely fabric", "It fell apart"]})
    before = mlflow.pyfunc.load_model(PRODUCTION_URI).predict(reviews)
    # The repository's code changes after the version was logged ...
    monkeypatch.setattr(SeedKeras, "predict_proba", lambda *args: np.zeros(2))
    after = mlflow.pyfunc.load_model(PRODUCTION_URI).predict(reviews)
    # ... and the version still scores the way it did.
    pd.testing.assert_frame_equal(after, before)


def test_the_scoring_code_is_the_artifacts_copy(production, tmp_path) -> None:
    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI, dst_path=str(tmp_path)))
    copy = local / "artifacts" / "code" / "predictions.py"
    # Edit the artifact's copy: its labels now say the opposite.
    copy.write_text(
        copy.read_text().replace(
            "labels = (probabilities >= self.threshold)",
            "labels = (probabilities < self.threshold)",
        )
    )
    reviews = pd.DataFrame({"review_text": ["Lovely fabric", "It fell apart"]})
    original = mlflow.pyfunc.load_model(PRODUCTION_URI).predict(reviews)
    edited = mlflow.pyfunc.load_model(str(local)).predict(reviews)

    assert (edited["label"] == 1 - original["label"]).all()


def test_a_tfidf_model_scores_in_a_fresh_interpreter_without_tensorflow(
    sample_dataset, tmp_path
) -> None:
    from sentiment_assets.lib.training import plan, train_candidate
    from sentiment_assets.model.candidates import make_candidate

    store = MlflowStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    result, _ = train_candidate(
        sample_dataset, plan(make_candidate("tfidf-logreg", "tfidf")), store, tags={}
    )
    store.set_production(store.register_version(result.model_uri, result.run_id))
    code = (
        "import sys, mlflow.pyfunc, pandas as pd\n"
        f"mlflow.set_tracking_uri({store.uri!r}); mlflow.set_registry_uri({store.uri!r})\n"
        f"model = mlflow.pyfunc.load_model({PRODUCTION_URI!r})\n"
        "out = model.predict(pd.DataFrame({'review_text': ['Love it', 'Cheap, returning it']}))\n"
        "print(out['label'].tolist(), 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.split("\n")[-2] == "[1, 0] False False"
    local = Path(mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path)))
    requirements = (local / "requirements.txt").read_text()
    assert "tensorflow" not in requirements and "scikit-learn==" in requirements


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_an_empty_blank_or_non_text_review_is_refused(production, bad) -> None:
    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI))
    predictor = Predictor.load(local / "artifacts" / "candidate")
    reviews = pd.DataFrame({"review_text": ["Fine", bad]}, dtype=object)

    with pytest.raises(InvalidReviews, match=r"review_text must be non-blank text.*row\(s\) 1"):
        predictor.predict(reviews)


@pytest.mark.parametrize(
    ("text", "title"),
    [("Ужасное качество", None), ("😡😡😡", None), ("....", ""), ("\u200b", "質が悪い")],
)
def test_a_review_with_no_letter_or_digit_the_model_reads_is_refused(production, text, title):
    """Another script, emoji or punctuation alone: every such review got an empty review's score,
    "recommended", without a word (a review of the served model)."""
    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI))
    predictor = Predictor.load(local / "artifacts" / "candidate")
    reviews = pd.DataFrame({"review_text": ["Fine", text], "title": [None, title]}, dtype=object)

    with pytest.raises(
        InvalidReviews, match=r"hold no letter \(a-z\) or digit the model reads in row\(s\) 1 "
    ):
        predictor.predict(reviews)
    # A title the model reads is enough, and so is one Latin word among other scripts.
    readable = pd.DataFrame({"review_text": [text, "Très belle robe 😍"], "title": ["Awful", None]})
    assert len(predictor.predict(readable)) == 2


def test_a_title_is_text_or_missing_and_anything_else_is_refused() -> None:
    assert known_titles(["Nice", None, float("nan"), pd.NA]) == ["Nice", None, None, None]
    with pytest.raises(
        InvalidReviews, match=r"title must be text or missing.*row\(s\) 1, 2 \(counted from 0\)$"
    ):
        known_titles(["Nice", 5, ["a"]])


def test_a_review_with_a_number_for_a_title_is_refused_not_scored_untitled(production) -> None:
    local = Path(mlflow.artifacts.download_artifacts(PRODUCTION_URI))
    predictor = Predictor.load(local / "artifacts" / "candidate")
    reviews = pd.DataFrame({"review_text": ["Fine", "Fine"], "title": ["Ok", 5]}, dtype=object)

    with pytest.raises(InvalidReviews, match=r"title must be text or missing.*row\(s\) 1"):
        predictor.predict(reviews)


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_the_logged_model_refuses_them_as_mlflows_invalid_parameter(production, bad) -> None:
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(PRODUCTION_URI)
    reviews = pd.DataFrame({"review_text": ["Fine", bad]}, dtype=object)

    # The scoring server answers this error with 400 and its message (any other error: a vague 400).
    with pytest.raises(
        MlflowException, match=r"review_text must be non-blank text.*row\(s\) 1"
    ) as err:
        model.predict(reviews)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def _invoke(port: int, rows: list[list[object]], form: str = "dataframe_split") -> tuple[int, dict]:
    """POST reviews to a scoring server's /invocations in one of MLflow's request formats: the
    status and the JSON answer."""
    texts = [row[0] for row in rows]
    body = {
        "dataframe_split": {"dataframe_split": {"columns": ["review_text"], "data": rows}},
        "dataframe_records": {"dataframe_records": [{"review_text": t} for t in texts]},
        "inputs": {"inputs": {"review_text": texts}},
        "instances": {"instances": [{"review_text": t} for t in texts]},
    }[form]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_mlflow_models_serve_answers_raw_text_and_refuses_blank_reviews(
    production, tmp_path
) -> None:
    port = free_port()
    # The scoring server starts `uvicorn` by name: the venv's bin must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": production["uri"], "PATH": path}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", PRODUCTION_URI]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    server = start_group(command, tmp_path / "serve.log", env=env)
    texts = ["I love this dress, it fits perfectly", "Cheap fabric, returning it"]

    def answered() -> tuple[int, dict] | None:
        try:
            return _invoke(port, [[text] for text in texts])
        except OSError:
            return None

    try:
        status, answer = wait_until(
            "an answer from mlflow models serve", answered, 120, alive=[server]
        )
        # The data frame formats carry a null or a number as it is; `inputs` and `instances` are
        # cast to the signature's string type by MLflow before the model sees them (README).
        refusals = {
            (form, repr(bad)): _invoke(port, [["Fine"], [bad]], form)
            for form in ("dataframe_split", "dataframe_records")
            for bad in ("", "   ", None, 3)
        }
        formats = {
            form: _invoke(port, [[text] for text in texts], form)
            for form in ("dataframe_records", "inputs", "instances")
        }
    finally:
        stop_group(server)
    assert status == 200
    rows = answer["predictions"]
    local = mlflow.pyfunc.load_model(PRODUCTION_URI).predict(pd.DataFrame({"review_text": texts}))
    assert [r["label"] for r in rows] == local["label"].tolist()
    assert np.allclose([r["probability"] for r in rows], local["probability"], atol=1e-6)
    for form, found in formats.items():
        assert found == (200, answer), form
    # A request with an empty, blank or non-text review is the client's error, said clearly.
    for bad, (status, answer) in refusals.items():
        assert status == 400, (bad, answer)
        assert answer["error_code"] == "INVALID_PARAMETER_VALUE", (bad, answer)
        assert "review_text must be non-blank text" in answer["message"], (bad, answer)
        assert "row(s) 1" in answer["message"], (bad, answer)


def test_a_model_package_imported_from_a_deleted_folder_imports_the_rest_from_the_next(
    tmp_path,
) -> None:
    # MLflow checks a model it logs by loading it from a temporary folder, then deletes that
    # folder; a later model of the same code that needs a module the first did not (a TF-IDF model
    # after a Keras one: `candidates.char_ngrams`) must import it from its own folder.
    import importlib
    import shutil
    import sys
    import uuid

    from sentiment_assets.model.predictions import copy_code
    from sentiment_assets.model.pyfunc_entry import import_model_package

    first = copy_code(tmp_path / "first")
    (first / "marker.txt").write_text(uuid.uuid4().hex)  # content of its own: a fresh import
    package = import_model_package(first)
    importlib.import_module(f"{package.__name__}.candidates")
    lazy = f"{package.__name__}.candidates.char_ngrams"
    assert lazy not in sys.modules
    second = tmp_path / "second"
    shutil.copytree(first, second)
    shutil.rmtree(first)

    assert import_model_package(second) is package
    assert importlib.import_module(lazy).__file__.startswith(str(second))
