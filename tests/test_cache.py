"""The private on-disk cache: only a directory of our own, rebuilt when torn, off on request."""
import os
import pickle

import pytest

from policylang import cache


@pytest.fixture()
def private(tmp_path, monkeypatch):
    d = tmp_path / "c"
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(d))
    monkeypatch.delenv("POLICYLANG_NO_CACHE", raising=False)
    return d


def test_stores_then_reads_by_key(private):
    assert cache.load("t", "k1") is None
    cache.store("t", "k1", {"v": 1})
    assert cache.load("t", "k1") == {"v": 1}
    assert oct(os.stat(private).st_mode & 0o777) == "0o700"
    assert cache.load("t", "k2") is None  # another key, another entry


def test_a_torn_entry_reads_as_missing_and_is_overwritten(private):
    cache.store("t", "k", 1)
    path = cache.path_for("t", "k")
    with open(path, "wb") as fh:
        fh.write(b"\x80\x05garbage")
    assert cache.load("t", "k") is None
    cache.store("t", "k", 2)
    with open(path, "rb") as fh:
        assert pickle.load(fh) == 2


def test_a_directory_others_can_write_is_never_used(private):
    private.mkdir(mode=0o700)
    os.chmod(private, 0o777)
    assert cache.cache_dir() is None
    cache.store("t", "k", 3)
    assert cache.load("t", "k") is None
    assert not list(private.iterdir())


def test_a_symlinked_directory_is_never_used(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(link))
    assert cache.cache_dir() is None


def test_switched_off(private, monkeypatch):
    monkeypatch.setenv("POLICYLANG_NO_CACHE", "1")
    assert cache.cache_dir() is None


def test_keys_change_with_inputs():
    assert cache.key_of("a", "b") != cache.key_of("ab")
    assert cache.key_of("a") == cache.key_of("a")
