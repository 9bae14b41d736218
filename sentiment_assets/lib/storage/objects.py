"""The versioned store's seam on an S3-compatible object store (AWS S3, SeaweedFS, MinIO).

The same operations as `LocalFiles`, with what an object store guarantees instead of rename and
fsync: a version folder is a prefix of objects, all uploaded before the pointer names it; the
pointer is one PUT, which readers see whole or not at all; the lock is a lease object created
with a conditional write (If-None-Match), renewed by its holder while it writes, taken over
(If-Match) once its holder's lease has expired, so a crashed writer blocks the next one for a
lease at most, and deleted only if it is still the holder's (If-Match). Endpoint and credentials come
from the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# How long a lock holder may go silent before another writer takes the lock over; a holder renews
# its lease every third of that for as long as it writes.
LEASE_SECONDS = 120.0
# What a conditional write or delete answers when its condition does not hold.
_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})


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
        """Hold the lease object at `rel`: created only if absent, taken over only if expired,
        renewed while held, and deleted at the end only if it is still this holder's."""
        holder = f"{uuid.uuid4().hex}@{os.uname().nodename}:{os.getpid()}"
        key = self.key(rel)
        while (etag := self._acquire(key, holder)) is None:
            time.sleep(0.2)
        heartbeat = _Heartbeat(self, key, holder, etag)
        try:
            yield
        finally:
            kept = self._release(key, heartbeat.stop())
        if heartbeat.lost or not kept:
            raise LeaseLost(
                f"{self.path(rel)}: another writer took the lock over while it was held "
                f"({heartbeat.lost or 'found at its release'})"
            )

    def _lease(self, holder: str) -> bytes:
        return json.dumps({"holder": holder, "expires": time.time() + self.lease_seconds}).encode()

    def _acquire(self, key: str, holder: str) -> str | None:
        """The ETag of the lease now held, or None when another holder's is live."""
        try:
            written = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=self._lease(holder), IfNoneMatch="*"
            )
            return written["ETag"]
        except self.client.exceptions.ClientError as err:
            if _code(err) not in _CONFLICT:
                raise
        try:
            current = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None  # released meanwhile: try again
        if json.loads(current["Body"].read()).get("expires", 0) > time.time():
            return None
        try:  # the holder died: take its lease over, unless someone else just did
            return self._renew(key, holder, current["ETag"])
        except LeaseLost:
            return None

    def _renew(self, key: str, holder: str, etag: str) -> str | None:
        """Write a fresh lease over the one with `etag`: its new ETag, None when the lease is gone
        (removed with its folder). Raises `LeaseLost` when another holder's replaced it."""
        try:
            written = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=self._lease(holder), IfMatch=etag
            )
        except self.client.exceptions.ClientError as err:
            if _code(err) in {"NoSuchKey", "404"} or (_code(err) in _CONFLICT and self._gone(key)):
                return None
            if _code(err) in _CONFLICT:
                raise LeaseLost(f"another holder's lease replaced it ({_code(err)})") from err
            raise
        return written["ETag"]

    def _release(self, key: str, etag: str) -> bool:
        """Delete the lease with `etag`; False when another holder had taken it over (theirs
        stays). Gone already (removed with its folder) is fine."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except self.client.exceptions.ClientError as err:
            if _code(err) in _CONFLICT:
                return self._gone(key)
            if _code(err) not in {"NoSuchKey", "404"}:
                raise
        return True

    def _gone(self, key: str) -> bool:
        """Whether there is no object at `key`: some stores (SeaweedFS) answer a conditional
        request on a missing object as on a changed one."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as err:
            if _code(err) in {"NoSuchKey", "404", "NotFound"}:
                return True
            raise
        return False

    def _keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            o["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]


class LeaseLost(Exception):
    """Another writer took the lock over: the lease was not renewed for a whole lease."""


class _Heartbeat:
    """Renews a held lease every third of a lease, so that a long write keeps its lock."""

    def __init__(self, files: ObjectFiles, key: str, holder: str, etag: str) -> None:
        self.files, self.key, self.holder, self.etag = files, key, holder, etag
        self.lost: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {key}", daemon=True)
        self._thread.start()

    def stop(self) -> str:
        """Stop renewing; the ETag of the last lease written."""
        self._stopped.set()
        self._thread.join()
        return self.etag

    def _beat(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        while not self._stopped.wait(self.files.lease_seconds / 3):
            try:
                renewed = self.files._renew(self.key, self.holder, self.etag)
            except LeaseLost as err:
                self.lost = str(err)
                return
            except (BotoCoreError, ClientError):
                continue  # the store did not answer: the next beat, within the lease, tries again
            if renewed is None:
                return  # the holder removed the folder it locked, lock and all
            self.etag = renewed


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def open_files(location: str) -> Any:
    """The seam for a storage location: an `s3://` URL, or a local folder."""
    from sentiment_assets.lib.storage.files import LocalFiles

    if location.startswith("s3://"):
        return ObjectFiles(location)
    return LocalFiles(Path(location).resolve())
