"""The console commands: sentiment-run, sentiment-predict, sentiment-sample-drops."""
