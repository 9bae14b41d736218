#!/bin/sh
# One-shot: create the profile's buckets through `weed shell` (the cluster's own gRPC API, no S3
# key needed), leaving buckets that exist untouched, so it is safe on every `up`.
set -eu
master="${SEAWEEDFS_MASTER:?}"
filer="${SEAWEEDFS_FILER:?}"

shell() {
  echo "$1" | weed shell -master="$master" -filer="$filer"
}

existing=$(shell "s3.bucket.list")
for bucket in "$@"; do
  if printf '%s\n' "$existing" | grep -Eq "^[[:space:]]*${bucket}([[:space:]]|$)"; then
    echo "bucket $bucket exists"
  else
    shell "s3.bucket.create -name $bucket"
    echo "bucket $bucket created"
  fi
done
