"""Local file storage: keys, whole writes, listing, and refusing paths."""

from __future__ import annotations

import pytest

from startvora.core.storage import LocalStorage, check_key, migrate


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../b", "A/B", "a//b", "", "a/.x"])
def test_bad_keys_are_refused(tmp_path, key):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).put(key, b"x", "text/plain")


def test_put_get_delete_list(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("org-1/a.png", b"one", "image/png")
    store.put("org-2/b/c.txt", b"two", "text/plain")
    assert store.get("org-1/a.png") == b"one" and store.exists("org-2/b/c.txt")
    assert list(store.list_keys()) == ["org-1/a.png", "org-2/b/c.txt"]
    store.delete("org-1/a.png")
    assert not store.exists("org-1/a.png")
    with pytest.raises(KeyError):
        store.get("org-1/a.png")


def test_migrate_between_folders_checks_every_file(tmp_path):
    source, target = LocalStorage(tmp_path / "a"), LocalStorage(tmp_path / "b")
    for n in range(5):
        source.put(f"org-1/f{n}.bin", bytes([n]) * 1000, "application/octet-stream")
    assert migrate(source, target) == 5
    assert target.get("org-1/f3.bin") == b"\x03" * 1000


def test_check_key_accepts_ours():
    assert check_key("org-12/logo-0123abcd.png") == "org-12/logo-0123abcd.png"
