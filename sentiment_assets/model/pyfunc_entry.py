"""The file MLflow runs to load a logged model (models-from-code: nothing is unpickled).

MLflow copies this file into every model version and runs that copy. It imports the version's own
copy of the model package (its `code` artifact) under a name made from that copy's content, so a
version scores with the code it was trained with in every process (`mlflow models serve`,
`sentiment-predict`, the production decision), whatever version of the project is installed.
"""

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model


def import_model_package(folder: Path) -> ModuleType:
    """The model package in `folder`, imported as `sentiment_model_<content hash>`: two versions
    with the same code share one import, two with different code never mix.

    A package imported before from another folder of the same content (one MLflow downloaded to
    a temporary folder, since deleted) imports its modules not yet imported from `folder` from
    now on: a model that loads a module the first one never needed must find its file."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    name = f"sentiment_model_{digest.hexdigest()[:16]}"
    if name in sys.modules:
        _search_in(name, folder)
    else:
        spec = importlib.util.spec_from_file_location(
            name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def _search_in(name: str, folder: Path) -> None:
    """Point the imported package `name` and its imported subpackages at their places in
    `folder`, where their modules not yet imported are found."""
    for key, module in list(sys.modules.items()):
        if (key == name or key.startswith(f"{name}.")) and hasattr(module, "__path__"):
            module.__path__ = [str(folder.joinpath(*key.split(".")[1:]))]


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Raw review text (`review_text`, optional `title`) in; `probability` and `label` out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        package = import_model_package(Path(context.artifacts["code"]))
        predictions = importlib.import_module(f"{package.__name__}.predictions")
        self.predictor = predictions.Predictor.load(Path(context.artifacts["candidate"]))
        self.invalid_reviews = predictions.InvalidReviews

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        try:
            return self.predictor.predict(model_input)
        except self.invalid_reviews as err:
            # `mlflow models serve` answers an MlflowException with its own status and message
            # (400 here); any other error becomes a 400 that only says "unexpected error".
            raise MlflowException.invalid_parameter_value(str(err)) from err


set_model(SentimentModel())
