#!/bin/sh
# Run once by the postgres image, on an empty data folder (/docker-entrypoint-initdb.d): a role and
# a database for the Dagster instance and another pair for the MLflow tracking store, so neither
# service can read or change the other's tables. The passwords come from the environment
# (deploy/.env) and reach SQL as psql variables, quoted by psql, never pasted into the statement.
# No `set -u`: the image sources this file when it is not executable.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:?}" --dbname postgres \
  -v dagster_password="${DAGSTER_DB_PASSWORD:?set DAGSTER_DB_PASSWORD}" \
  -v mlflow_password="${MLFLOW_DB_PASSWORD:?set MLFLOW_DB_PASSWORD}" <<'SQL'
CREATE ROLE dagster LOGIN PASSWORD :'dagster_password';
CREATE DATABASE dagster OWNER dagster;
REVOKE ALL ON DATABASE dagster FROM PUBLIC;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
SQL
