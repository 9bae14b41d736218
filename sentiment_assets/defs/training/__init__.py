"""Training: the dataset from every drop, candidate models in MLflow, the production decision."""
