"""Customer-sentiment analysis of review CSV drops, as Dagster software-defined assets."""
