"""The project as a person meets it: `dg dev` on the real drops, the daemon's sensors doing the
work by themselves, results read back through the GraphQL API and seen in a headless Chromium."""

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sentiment_assets.cli.platform import prepare
from sentiment_assets.lib import drops
from sentiment_assets.lib.tracking import MODEL_NAME, PRODUCTION_URI
from sentiment_assets.model.candidates import NEW_DATA_CANDIDATES
from sentiment_assets_tests.defs.under_dev import STARTUP_SECONDS, DagsterDev, dagster_dev
from sentiment_assets_tests.support import LINEAGE

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
]

SENSORS = {"review_drop_sensor", "retrain_on_new_data", "run_failure_alert", "check_failure_alert"}
# The three drops land together, before any production model exists: there is nothing to predict
# them with, so drop_predictions stays unmaterialized (their live_quality records say so).
NOT_MATERIALIZED = {"drop_predictions"}
MLFLOW_UI = "http://127.0.0.1:5000/#/"
DAY = 24 * 3600

# Two sensor ticks to see a stable file, three ingestions, a tick to retrain, then training; about
# 100 s on two idle cores, longer beside `make test`'s other worker (a deadline, not a timing: it
# only bounds how long a broken line takes to fail).
PIPELINE_SECONDS = 600
SHORT_WAIT_SECONDS = 60
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.mark.slow
@pytest.mark.ui
@pytest.mark.under_dev
def test_dagster_dev_runs_the_drops_by_itself_and_shows_production(
    real_drops: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    landing = tmp_path / "landing"
    landing.mkdir()
    for drop in real_drops:
        shutil.copy(drop, landing / drop.name)
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SENTIMENT_ALERT_WEBHOOK", raising=False)
    prepare()
    keys = sorted(f.key for f in drops.scan_landing(landing)[0])
    assert keys == sorted(drops.partition_key(drop.name) for drop in real_drops)
    assert "freshness" in (tmp_path / "dagster_home" / "dagster.yaml").read_text()
    shots = Path(os.environ.get("SENTIMENT_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)

    with dagster_dev(tmp_path / "dagster_dev.log") as dagster:
        graph = dagster.wait_for("asset graph", lambda: asset_graph(dagster), STARTUP_SECONDS)
        assert graph == LINEAGE
        assert sensor_states(dagster) == dict.fromkeys(SENSORS, "RUNNING")

        runs = dagster.wait_for(
            "sensor-launched train_and_promote run that finished",
            lambda: finished_pipeline(dagster),
            PIPELINE_SECONDS,
        )
        ingestions = [r for r in runs if r["jobName"] == "ingest_drop"]
        assert sorted(tag(r, "dagster/partition") for r in ingestions) == keys
        assert {tag(r, "dagster/sensor_name") for r in ingestions} == {"review_drop_sensor"}
        trainings = [r for r in runs if r["jobName"] == "train_and_promote"]
        assert len(trainings) == 1, trainings  # the three drops caused one retraining
        training = trainings[0]
        assert tag(training, "dagster/sensor_name") == "retrain_on_new_data"
        config = training["runConfig"]["ops"]["trained_models"]["config"]
        assert config["candidates"] == NEW_DATA_CANDIDATES  # what a new drop retrains

        production = check_production_model(dagster, training["runId"])
        check_asset_checks(dagster, {r["runId"] for r in ingestions})
        check_freshness(dagster, production["timestamp"])

        assert dagster.graphql("mutation { setNuxSeen }")["setNuxSeen"]  # no welcome dialog
        with headless_chromium(tmp_path / "chromium") as browser:
            check_ui(browser, dagster.url, production["urls"], shots)


def asset_graph(dagster: DagsterDev) -> dict[str, set[str]] | None:
    """Asset -> the assets it depends on, once the code location has loaded."""
    nodes = dagster.graphql("{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    graph = {
        "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
        for n in nodes["assetNodes"]
    }
    return graph or None


def sensor_states(dagster: DagsterDev) -> dict[str, str]:
    data = dagster.graphql(
        """{ repositoriesOrError { ... on RepositoryConnection {
             nodes { sensors { name sensorState { status } } } } } }"""
    )
    return {
        s["name"]: s["sensorState"]["status"]
        for repository in data["repositoriesOrError"]["nodes"]
        for s in repository["sensors"]
    }


def finished_pipeline(dagster: DagsterDev) -> list[dict[str, Any]] | None:
    """Every run, once none is in flight and a sensor-launched training run has finished; a failed
    or canceled run ends the wait at once, so all returned runs succeeded."""
    data = dagster.graphql(
        """{ runsOrError(limit: 50) { ... on Runs {
             results { runId jobName status runConfig tags { key value } } } } }"""
    )
    runs = data["runsOrError"]["results"]
    broken = [r for r in runs if r["status"] in {"FAILURE", "CANCELED"}]
    assert not broken, failures(dagster, broken)
    trained = any(
        r["jobName"] == "train_and_promote"
        and tag(r, "dagster/sensor_name") == "retrain_on_new_data"
        for r in runs
    )
    return runs if trained and all(r["status"] in FINISHED for r in runs) else None


def failures(dagster: DagsterDev, runs: list[dict[str, Any]]) -> str:
    """What went wrong in the runs that did not succeed, from their event logs."""
    lines = []
    for run in runs:
        if run["status"] == "SUCCESS":
            continue
        events = dagster.graphql(
            """query($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection {
                 events { __typename
                   ... on ExecutionStepFailureEvent { message error { message } }
                   ... on RunFailureEvent { message } } } } }""",
            runId=run["runId"],
        )["logsForRun"]["events"]
        messages = [
            (e.get("error") or {}).get("message") or e["message"]
            for e in events
            if e["__typename"] in {"ExecutionStepFailureEvent", "RunFailureEvent"}
        ]
        lines.append(f"{run['jobName']} {run['runId']} {run['status']}: {messages}")
    return "\n".join(lines) + f"\n--- dg dev log ---\n{dagster.log_tail()}"


def tag(run: dict[str, Any], key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def check_production_model(dagster: DagsterDev, training_run: str) -> dict[str, Any]:
    """The latest production_model materialization came from the training run, promoted the
    challenger, and links to both in the MLflow UI; returns its time (ms) and URLs."""
    data = dagster.graphql(
        """{ assetNodes(assetKeys: [{path: ["production_model"]}, {path: ["trained_models"]}]) {
             assetKey { path }
             assetMaterializations(limit: 1) { runId timestamp metadataEntries { label
               ... on TextMetadataEntry { text } ... on UrlMetadataEntry { url } } } } }"""
    )
    latest = {n["assetKey"]["path"][-1]: n["assetMaterializations"][0] for n in data["assetNodes"]}
    trained = {e["label"] for e in latest["trained_models"]["metadataEntries"]}
    assert {f"mlflow_run_{c['name']}" for c in NEW_DATA_CANDIDATES} <= trained
    production = latest["production_model"]
    assert production["runId"] == training_run
    entries = {e["label"]: e.get("text") or e.get("url") for e in production["metadataEntries"]}
    assert entries["decision"] == "promoted", entries["reason"]
    assert entries["model_uri"] == PRODUCTION_URI
    version_url = entries["production_version_url"]
    assert version_url == (
        f"{MLFLOW_UI}models/{MODEL_NAME}/versions/{entries['production_version']}"
    )
    assert entries["challenger_run"].startswith(f"{MLFLOW_UI}experiments/")
    return {
        "timestamp": int(production["timestamp"]),
        "urls": [version_url, entries["challenger_run"]],
    }


def check_asset_checks(dagster: DagsterDev, ingestion_runs: set[str]) -> None:
    """The blocking checks passed on the latest values; every drop's reviews were validated."""
    data = dagster.graphql(
        """{ assetNodes(assetKeys: [{path: ["production_model"]}, {path: ["padded_dataset"]}]) {
             assetChecksOrError { ... on AssetChecks { checks { name blocking
               executionForLatestMaterialization { status evaluation { success } } } } } }
           assetCheckExecutions(assetKey: {path: ["raw_reviews"]}, checkName: "valid_reviews",
                                limit: 20) { runId status evaluation { success } } }"""
    )
    latest = {
        check["name"]: check
        for node in data["assetNodes"]
        for check in node["assetChecksOrError"]["checks"]
    }
    for name in ("production_quality_gate", "no_review_in_two_splits"):
        assert latest[name]["blocking"]
        assert latest[name]["executionForLatestMaterialization"] == {
            "status": "SUCCEEDED",
            "evaluation": {"success": True},
        }, name
    validations = data["assetCheckExecutions"]
    assert {v["runId"] for v in validations} == ingestion_runs
    assert all(v["status"] == "SUCCEEDED" and v["evaluation"]["success"] for v in validations)


def check_freshness(dagster: DagsterDev, materialized_ms: int) -> None:
    """production_model has the weekly freshness policy, and it passes on the fresh value."""

    def evaluated() -> dict[str, Any] | None:
        node = dagster.graphql(
            """{ assetNodeOrError(assetKey: {path: ["production_model"]}) { ... on AssetNode {
                 internalFreshnessPolicy { __typename
                   ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } }
                 freshnessStatusInfo { freshnessStatus
                   freshnessStatusMetadata { lastMaterializedTimestamp } } } } }"""
        )["assetNodeOrError"]
        status = node["freshnessStatusInfo"]
        return node if status and status["freshnessStatus"] not in {"UNKNOWN", None} else None

    node = dagster.wait_for("freshness status of production_model", evaluated, SHORT_WAIT_SECONDS)
    assert node["internalFreshnessPolicy"] == {
        "__typename": "TimeWindowFreshnessPolicy",
        "failWindowSeconds": 15 * DAY,
        "warnWindowSeconds": 8 * DAY,
    }
    status = node["freshnessStatusInfo"]
    assert status["freshnessStatus"] == "HEALTHY", status
    seen = status["freshnessStatusMetadata"]["lastMaterializedTimestamp"]
    assert abs(seen * 1000 - materialized_ms) < 1000, (seen, materialized_ms)


def check_ui(browser: Any, url: str, mlflow_urls: list[str], shots: Path) -> None:
    """The lineage graph, the production model's page with its MLflow links, and its checks."""
    browser.get(f"{url}/asset-groups/sentiment")
    graph_node = "//*[local-name()='foreignObject']"
    # The side list marks each asset whose latest materialization succeeded once live data is in.
    materialized = "//button[.//*[@role='img' and @aria-label='run_success']]"
    wait_visible(
        browser,
        [showing(name, within=graph_node) for name in LINEAGE]
        + [showing(name, within=materialized) for name in set(LINEAGE) - NOT_MATERIALIZED],
    )
    browser.save_screenshot(str(shots / "asset_graph.png"))
    assert_page_shows(browser, ["Global asset lineage", *LINEAGE])

    browser.get(f"{url}/assets/production_model")
    version_link, *_ = wait_visible(
        browser, [f"//a[@href='{link}' and text()='{link}']" for link in mlflow_urls]
    )
    # Bring the link into view, but keep the metadata table's key column in the picture.
    browser.execute_script(
        """arguments[0].scrollIntoView({block: 'center'});
        for (let e = arguments[0].parentElement; e; e = e.parentElement) e.scrollLeft = 0;""",
        version_link,
    )
    browser.save_screenshot(str(shots / "production_model.png"))
    page = assert_page_shows(
        browser, ["production_model", "promoted", "Freshness policy", "Passing"]
    )
    assert re.search(r"Latest materialization\n[^\n]+ ago\n", page), page

    browser.get(f"{url}/assets/production_model?view=checks")
    wait_visible(browser, [showing("Evaluation result"), showing("Passed")])
    browser.save_screenshot(str(shots / "production_model_checks.png"))
    assert_page_shows(browser, ["production_quality_gate", "This is a blocking asset check."])


def showing(text: str, within: str = "") -> str:
    """XPath of the innermost elements whose text contains `text` (React splits text nodes)."""
    return f"{within}//*[contains(., '{text}') and not(*[contains(., '{text}')])]"


def wait_visible(browser: Any, xpaths: Any) -> list[Any]:
    """The first displayed element for each XPath, waiting for the React app to render them."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    xpaths = list(xpaths)

    def all_shown(driver: Any) -> list[Any] | None:
        shown = [
            next((e for e in driver.find_elements(By.XPATH, x) if e.is_displayed()), None)
            for x in xpaths
        ]
        return shown if all(shown) else None

    try:
        return WebDriverWait(browser, SHORT_WAIT_SECONDS, poll_frequency=0.5).until(all_shown)
    except TimeoutException:
        text = browser.find_element(By.TAG_NAME, "body").text
        pytest.fail(f"{browser.current_url} did not show all of {xpaths}; it shows:\n{text}")


def assert_page_shows(browser: Any, texts: list[str]) -> str:
    """The page's text, after checking that it shows every one of `texts`."""
    from selenium.webdriver.common.by import By

    page = browser.find_element(By.TAG_NAME, "body").text
    missing = [t for t in texts if t not in page]
    assert not missing, f"{browser.current_url} lacks {missing}; it shows:\n{page}"
    assert "Join the Dagster community" not in page  # a dialog over the screenshot
    return page


def require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the UI test: {message}")
    pytest.skip(message)


@contextmanager
def headless_chromium(profile: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]:
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        browser.set_page_load_timeout(SHORT_WAIT_SECONDS)
        yield browser
    finally:
        browser.quit()
