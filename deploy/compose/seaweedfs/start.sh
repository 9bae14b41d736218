#!/bin/sh
# Entry point of the seaweedfs service: write the S3 identities file from the environment, then run
# one `weed server` (master, volume, filer and S3 gateway) with the arguments given.
#
# Two identities, each confined to its own bucket: `sentiment` (the platform's asset values, used by
# the code server and the workers) and `mlflow` (the tracking server's artifacts; clients reach them
# only through the server). Buckets are made by create-buckets.sh over the cluster's gRPC API, so
# neither key needs the Admin action. The file is rebuilt at each start outside any volume, so a
# rotated key takes effect on restart and no key is left on disk by a committed file.
set -eu

config="${SEAWEEDFS_S3_CONFIG:-/tmp/seaweedfs/s3.json}"

# A key goes into JSON unescaped, so it may only hold characters that need no escaping.
for name in S3_SENTIMENT_ACCESS_KEY S3_SENTIMENT_SECRET_KEY S3_MLFLOW_ACCESS_KEY S3_MLFLOW_SECRET_KEY; do
  eval "value=\${$name:-}"
  case "$value" in
    "") echo "seaweedfs: $name is not set (deploy/.env)" >&2; exit 2 ;;
    *[!A-Za-z0-9+/=._-]*) echo "seaweedfs: $name may hold letters, digits and + / = . _ - only" >&2; exit 2 ;;
  esac
done

identity() {  # name, access key, secret key, bucket
  printf '    {"name": "%s", "credentials": [{"accessKey": "%s", "secretKey": "%s"}],\n' "$1" "$2" "$3"
  printf '     "actions": ["Read:%s", "Write:%s", "List:%s", "Tagging:%s"]}' "$4" "$4" "$4" "$4"
}

umask 077
mkdir -p "$(dirname "$config")"
{
  echo '{"identities": ['
  identity sentiment "$S3_SENTIMENT_ACCESS_KEY" "$S3_SENTIMENT_SECRET_KEY" "${S3_SENTIMENT_BUCKET:?}"
  echo ','
  identity mlflow "$S3_MLFLOW_ACCESS_KEY" "$S3_MLFLOW_SECRET_KEY" "${S3_MLFLOW_BUCKET:?}"
  echo ']}'
} > "$config"

exec weed server "$@" -s3 -s3.config="$config"
