"""The versioned store's seam on an S3-compatible object store (AWS S3, SeaweedFS, MinIO).

The same operations as `LocalFiles`, with what an object store guarantees instead of rename and
fsync: a version folder is a prefix of objects, all uploaded before the pointer names it; the
pointer is one PUT, which readers see whole or not at all; the lock is a lease object created
with a conditional write (If-None-Match) and taken over (If-Match) once its holder's lease has
expired, so a crashed writer blocks the next one for a lease at most. Endpoint and credentials come
from the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# How long a lock holder may go silent before another writer takes the lock over. The lock is held
# while one value is uploaded and the pointer swapped: seconds, even for the whole dataset.
LEASE_SECONDS = 120.0


class ObjectFiles:
    """Objects under `s3://bucket/prefix`; paths are relative and `/`-separated."""

    def __init__(self, url: str, lease_seconds: float = LEASE_SECONDS) -> None:
        import boto3

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        self.url, self.bucket = url.rstrip("/"), parts.netloc
        self.prefix = parts.path.strip("/")
        self.lease_seconds = lease_seconds
        self.client = boto3.client("s3")

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def path(self, rel: str) -> str:
        """Where `rel` is: an s3:// URL."""
        return f"s3://{self.bucket}/{self.key(rel)}"

    def exists(self, rel: str) -> bool:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.key(rel), MaxKeys=1)
        return listing.get("KeyCount", 0) > 0

    @contextmanager
    def staged(self, rel: str) -> Iterator[Path]:
        """A local folder to write into, uploaded whole under `rel` when the block ends; what was
        uploaded of it is removed when it fails."""
        with tempfile.TemporaryDirectory(prefix="sentiment-upload-") as tmp:
            folder = Path(tmp)
            try:
                yield folder
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    name = path.relative_to(folder).as_posix()
                    self.client.upload_file(str(path), self.bucket, self.key(f"{rel}/{name}"))
            except BaseException:
                self.remove(rel)
                raise

    @contextmanager
    def readable(self, rel: str) -> Iterator[Path]:
        """The objects under `rel`, downloaded to a local folder for the block."""
        keys = self._keys(f"{self.key(rel)}/")
        if not keys:
            raise FileNotFoundError(self.path(rel))
        with tempfile.TemporaryDirectory(prefix="sentiment-download-") as tmp:
            folder = Path(tmp)
            for key in keys:
                target = folder / key.removeprefix(f"{self.key(rel)}/")
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self.client.download_file(self.bucket, key, str(target))
                except self.client.exceptions.ClientError as err:
                    if _code(err) in {"404", "NoSuchKey"}:  # removed while we read
                        raise FileNotFoundError(self.path(rel)) from err
                    raise
            yield folder

    def read_text(self, rel: str) -> str | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(rel))["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        return body.read().decode()

    def write_atomic(self, rel: str, text: str) -> None:
        """One PUT: readers see the old object or the new one, never a part."""
        self.client.put_object(Bucket=self.bucket, Key=self.key(rel), Body=text.encode())

    def names(self, rel: str) -> list[str]:
        """The names directly under `rel`, objects and 'folders' alike."""
        paginator = self.client.get_paginator("list_objects_v2")
        names: set[str] = set()
        for page in paginator.paginate(
            Bucket=self.bucket, Prefix=f"{self.key(rel)}/", Delimiter="/"
        ):
            names.update(
                p["Prefix"].rstrip("/").rsplit("/", 1)[-1] for p in page.get("CommonPrefixes", [])
            )
            names.update(o["Key"].rsplit("/", 1)[-1] for o in page.get("Contents", []))
        return sorted(names)

    def remove(self, rel: str) -> None:
        """Remove an object or everything under a prefix; gone already is fine."""
        keys = [self.key(rel), *self._keys(f"{self.key(rel)}/")]
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})

    @contextmanager
    def lock(self, rel: str) -> Iterator[None]:
        """Hold the lease object at `rel`: created only if absent, taken over only if expired."""
        holder = f"{uuid.uuid4().hex}@{os.uname().nodename}:{os.getpid()}"
        key = self.key(rel)
        while not self._acquire(key, holder):
            time.sleep(0.2)
        try:
            yield
        finally:
            self._release(key, holder)

    def _acquire(self, key: str, holder: str) -> bool:
        lease = json.dumps({"holder": holder, "expires": time.time() + self.lease_seconds})
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=lease.encode(), IfNoneMatch="*"
            )
            return True
        except self.client.exceptions.ClientError as err:
            if _code(err) not in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise
        try:
            current = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return False  # released meanwhile: try again
        if json.loads(current["Body"].read()).get("expires", 0) > time.time():
            return False
        try:  # the holder died: take its lease over, unless someone else just did
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=lease.encode(), IfMatch=current["ETag"]
            )
            return True
        except self.client.exceptions.ClientError as err:
            if _code(err) in {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"}:
                return False
            raise

    def _release(self, key: str, holder: str) -> None:
        try:
            current = json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return
        if current.get("holder") == holder:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def _keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            o["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def open_files(location: str) -> Any:
    """The seam for a storage location: an `s3://` URL, or a local folder."""
    from sentiment_assets.lib.storage.files import LocalFiles

    if location.startswith("s3://"):
        return ObjectFiles(location)
    return LocalFiles(Path(location).resolve())
