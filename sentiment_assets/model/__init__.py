"""The sentiment model: the review schema, stems, the dataset, the candidate families, evaluation
and predictions.

It knows nothing of Dagster or of MLflow tracking, and it is the only code a model version
carries: every logged model holds a copy of this folder and scores with that copy (see
`pyfunc_entry`). Imports inside it are relative, so the copy works under any package name.
"""
