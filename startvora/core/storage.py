"""File storage: the data folder by default, S3/MinIO when configured.

Rows keep opaque keys ("org-3/9f2c….png"), never paths; files reach people only through
authorized routes. `startvora storage migrate --to s3|local` moves every file, checking each.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class StorageError(RuntimeError):
    """The storage cannot be reached or refused the operation; the message says which."""


def check_key(key: str) -> str:
    """Keys are made here: lower-case segments, no '..', nothing absolute."""
    if len(key) > 300 or not KEY_RE.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list_keys(self) -> Iterator[str]: ...


class LocalStorage:
    """Files under one folder (the data folder's files/)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".part")
        temp.write_bytes(data)
        temp.replace(path)  # whole or not at all

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self) -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(self.root).as_posix()


class S3Storage:
    """Files in one bucket of an S3-compatible server (MinIO, SeaweedFS, AWS)."""

    name = "s3"

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str,
        secure: bool,
    ) -> None:
        import certifi
        import urllib3
        from minio import Minio

        self.bucket = bucket
        # minio's own client retries for several seconds; a person uploading should hear that
        # S3 is down at once (background work is retried by the queue anyway).
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3, read=30),
            retries=urllib3.Retry(total=1, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            secure=secure,
            http_client=http,
        )
        self._bucket_ready = False

    def _ready(self) -> None:
        if self._bucket_ready:
            return
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except Exception as exc:  # minio raises many types; all mean "S3 is not usable"
            raise StorageError(f"S3 storage cannot be reached: {exc}") from exc
        self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._ready()
        try:
            self.client.put_object(
                self.bucket, check_key(key), io.BytesIO(data), len(data), content_type=content_type
            )
        except Exception as exc:
            raise StorageError(f"S3 storage refused the file: {exc}") from exc

    def get(self, key: str) -> bytes:
        from minio.error import S3Error

        self._ready()
        try:
            response = self.client.get_object(self.bucket, check_key(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise KeyError(key) from None
            raise StorageError(f"S3 storage failed: {exc}") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> None:
        self._ready()
        self.client.remove_object(self.bucket, check_key(key))

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        self._ready()
        try:
            self.client.stat_object(self.bucket, check_key(key))
        except S3Error:
            return False
        return True

    def list_keys(self) -> Iterator[str]:
        self._ready()
        for obj in self.client.list_objects(self.bucket, recursive=True):
            yield obj.object_name


def build(app: Flask, backend: str | None = None) -> Storage:
    """The storage a backend name stands for, from the app's settings."""
    settings = app.extensions["startvora.settings"]
    chosen = backend or settings.storage.backend
    if chosen == "local":
        return LocalStorage(settings.data_path / "files")
    s3 = settings.storage
    if not (s3.s3_endpoint and s3.s3_access_key and s3.s3_secret_key):
        raise StorageError("set s3_endpoint, s3_access_key and s3_secret_key under [storage]")
    return S3Storage(
        s3.s3_endpoint, s3.s3_bucket, s3.s3_access_key, s3.s3_secret_key, s3.s3_region, s3.s3_secure
    )


def storage() -> Storage:
    """This app's configured storage (one instance per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "startvora.storage" not in app.extensions:
        app.extensions["startvora.storage"] = build(app)
    return app.extensions["startvora.storage"]


def migrate(source: Storage, target: Storage) -> int:
    """Copy every file to another storage, checking each copy's SHA-256; the count copied."""
    copied = 0
    for key in source.list_keys():
        data = source.get(key)
        target.put(key, data, "application/octet-stream")
        if hashlib.sha256(target.get(key)).digest() != hashlib.sha256(data).digest():
            raise StorageError(f"the copy of {key} differs from the original")
        copied += 1
    return copied
