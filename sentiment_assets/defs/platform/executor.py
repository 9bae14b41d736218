"""Where steps run: in the run's own processes by default, on Celery workers in the scale-out
profile (SENTIMENT_EXECUTOR=celery, broker and result backend from the environment)."""

import dagster as dg

from sentiment_assets.lib import settings


@dg.definitions
def executor() -> dg.Definitions:
    if settings.executor() != "celery":
        return dg.Definitions()
    from dagster_celery import celery_executor

    return dg.Definitions(
        executor=celery_executor.configured(
            {
                "broker": {"env": "SENTIMENT_CELERY_BROKER"},
                "backend": {"env": "SENTIMENT_CELERY_BACKEND"},
            }
        )
    )
