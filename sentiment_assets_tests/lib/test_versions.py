"""Code versions follow the code that computes each asset, and nothing else; data versions follow
content."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sentiment_assets.defs.training.config import TrainingConfig
from sentiment_assets.lib import versions
from sentiment_assets.lib.versions import code_version, frame_version, training_version
from sentiment_assets_tests.support import definitions

# What reads the stems, directly or through the dataset and the models.
STEMMED_AND_AFTER = {
    "stemmed_corpus",
    "padded_dataset",
    "trained_models",
    "production_model",
    "score_drop",
}
ASSETS = {
    "raw_reviews": "defs.ingestion.assets",
    "stemmed_corpus": "defs.ingestion.assets",
    "padded_dataset": "defs.training.assets",
    "trained_models": "defs.training.assets",
    "production_model": "defs.training.assets",
    "score_drop": "defs.monitoring.assets",
}


def _code_versions() -> dict[str, str]:
    return {name: code_version(f"sentiment_assets.{m}", name) for name, m in ASSETS.items()}


def _clear() -> None:
    for cached in (versions._text, versions._parse, versions._reaches, versions._module_imports):
        cached.cache_clear()


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the package's source that code versions are read from, to edit."""
    copy = tmp_path / "sentiment_assets"
    shutil.copytree(versions._ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(versions, "_ROOT", copy)
    _clear()
    yield copy
    _clear()


def _edit(path: Path, after: str, line: str) -> None:
    """Insert `line` after the first line that starts with `after`."""
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.startswith(after))
    path.write_text("".join([*lines[: at + 1], line, *lines[at + 1 :]]))


def _changed(source: Path, edits: list[tuple[str, str, str]]) -> set[str]:
    before = _code_versions()
    for relative, after, line in edits:
        _edit(source / relative, after, line)
    _clear()
    after_edits = _code_versions()
    return {name for name in ASSETS if after_edits[name] != before[name]}


def test_every_asset_has_the_code_version_of_its_own_code() -> None:
    defs = definitions()
    graph = defs.resolve_asset_graph()
    expected = _code_versions()
    found = {
        key.to_user_string(): graph.get(key).code_version for key in graph.materializable_asset_keys
    }
    assert found == {
        "raw_reviews": expected["raw_reviews"],
        "stemmed_corpus": expected["stemmed_corpus"],
        "padded_dataset": expected["padded_dataset"],
        "trained_models": expected["trained_models"],
        "production_model": expected["production_model"],
        "drop_predictions": expected["score_drop"],
        "live_quality": expected["score_drop"],
    }
    assert len(set(expected.values())) == len(expected)


def test_a_model_module_counts_for_every_asset_that_reaches_it(source: Path) -> None:
    stems = ("model/stems.py", "import", "# a changed line\n")
    assert _changed(source, [stems]) == STEMMED_AND_AFTER


def test_a_data_file_a_model_module_reads_counts_like_its_code(source: Path) -> None:
    # stems.py reads the stopword list beside it: one more stopword, other stems.
    stopword = ("model/stopwords_english.txt", "very", "wardrobe\n")
    assert _changed(source, [stopword]) == STEMMED_AND_AFTER


def test_an_asset_function_counts_for_its_asset_alone(source: Path) -> None:
    body = ("defs/training/assets.py", "    store = mlflow.store()\n", "    # changed\n")
    assert _changed(source, [body]) == {"trained_models"}
    promotion = ("lib/production.py", "import", "# a changed line\n")
    assert _changed(source, [promotion]) == {"production_model"}


def test_a_one_line_definition_and_a_def_line_count_whole(source: Path) -> None:
    """Each definition is read from its first line to its last, both included."""
    assets = source / "defs" / "training" / "assets.py"
    edits = {
        '_PLOTTED = ("roc_auc", "not_recommended_f1")': '_PLOTTED = ("roc_auc",)',
        "def _candidate_numbers(results: list[CandidateResult])": (
            "def _candidate_numbers(results: list[CandidateResult], plotted=_PLOTTED)"
        ),
    }
    for old, new in edits.items():
        before = _code_versions()
        text = assets.read_text()
        assert text.count(old) == 1
        assets.write_text(text.replace(old, new))
        _clear()
        after = _code_versions()
        assert {name for name in ASSETS if after[name] != before[name]} == {"trained_models"}


def test_wiring_and_metadata_do_not_count(source: Path) -> None:
    edits = [
        ("defs/platform/metadata.py", "def metrics_markdown", "    # changed\n"),
        ("defs/platform/metadata.py", "def label_balance", "    # changed\n"),
        ("defs/platform/resources.py", "def store_failures", "    # changed\n"),
        ("defs/platform/resources.py", "class MlflowTracking", "    # changed\n"),
        ("defs/training/checks.py", "def production_quality_gate", "    # changed\n"),
    ]
    assert _changed(source, edits) == set()


def test_data_versions_follow_content() -> None:
    frame = pd.DataFrame({"stems": ["love fit", "ripped wash"], "label": [1, 0]})
    assert frame_version(frame) == frame_version(frame.copy())
    assert frame_version(frame) != frame_version(frame.assign(label=[1, 1]))
    assert frame_version(frame) != frame_version(frame.rename(columns={"label": "y"}))

    assert training_version("abc", TrainingConfig()) == training_version("abc", TrainingConfig())
    assert training_version("abc", TrainingConfig()) != training_version("abd", TrainingConfig())
    assert training_version("abc", TrainingConfig()) != training_version(
        "abc", TrainingConfig(epochs=3)
    )
