"""The private on-disk cache: only a directory of our own, rebuilt when torn, off on request."""
import os
import pickle
import subprocess
import sys

import pytest

from policylang import cache


@pytest.fixture()
def private(tmp_path, monkeypatch):
    d = tmp_path / "c"
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(d))
    monkeypatch.setenv("POLICYLANG_STATE_DIR", str(tmp_path / "state"))
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
    assert cache.load("t", "k") == 2
    with open(path, "rb") as fh:
        assert fh.read().startswith(cache.MAGIC)


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


# ---- caches hold data, not code ------------------------------------------------------------------

class Boom:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _seal_ok(path):
    with open(path, "rb") as fh:
        return fh.read().startswith(cache.MAGIC)


def test_a_planted_pickle_is_never_unpickled(private, tmp_path):
    cache.store("t", "k", 1)
    path = cache.path_for("t", "k")
    marker = tmp_path / "ran"
    os.unlink(path)
    with open(path, "wb") as fh:
        pickle.dump(Boom(str(marker)), fh)
    os.chmod(path, 0o600)
    assert cache.load("t", "k") is None
    assert not marker.exists()
    # the same pickle behind our header, without the right seal
    with open(path, "wb") as fh:
        fh.write(cache.MAGIC + b"\0" * 32 + pickle.dumps(Boom(str(marker))))
    assert cache.load("t", "k") is None
    assert not marker.exists()


def test_a_flipped_bit_is_detected_and_the_entry_rebuilt(private):
    cache.store("t", "k", {"decision": "deny"})
    path = cache.path_for("t", "k")
    data = bytearray(open(path, "rb").read())
    for i in range(len(cache.MAGIC), len(data)):  # every bit of seal and payload, one at a time
        for bit in range(8):
            data[i] ^= 1 << bit
            with open(path, "wb") as fh:
                fh.write(data)
            assert cache.load("t", "k") is None, (i, bit)
            data[i] ^= 1 << bit
    cache.store("t", "k", {"decision": "deny"})
    assert cache.load("t", "k") == {"decision": "deny"}


def test_a_planted_symlink_is_not_followed_on_read_or_write(private, tmp_path):
    cache.store("t", "k", 1)
    path = cache.path_for("t", "k")
    target = tmp_path / "victim"
    target.write_bytes(open(path, "rb").read())  # even a valid entry, reached through a link
    os.unlink(path)
    os.symlink(target, path)
    assert cache.load("t", "k") is None
    cache.store("t", "k", 2)
    assert not os.path.islink(path)
    assert cache.load("t", "k") == 2
    assert cache.load("t", "k") == 2 and target.read_bytes().startswith(cache.MAGIC)  # untouched
    assert pickle.loads(target.read_bytes()[len(cache.MAGIC) + 32:]) == 1


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_an_entry_others_could_write_is_ignored(private, mode):
    cache.store("t", "k", 1)
    os.chmod(cache.path_for("t", "k"), mode)
    assert cache.load("t", "k") is None


def test_an_entry_with_a_second_name_is_ignored(private, tmp_path):
    cache.store("t", "k", 1)
    os.link(cache.path_for("t", "k"), tmp_path / "other-name")
    assert cache.load("t", "k") is None


def test_a_fifo_entry_does_not_hang(private):
    cache.store("t", "k", 1)
    path = cache.path_for("t", "k")
    os.unlink(path)
    os.mkfifo(path)
    assert cache.load("t", "k") is None


def test_an_entry_sealed_for_another_key_is_refused(private):
    cache.store("t", "k1", "one")
    os.replace(cache.path_for("t", "k1"), cache.path_for("t", "k2"))
    assert cache.load("t", "k2") is None


def test_the_key_is_private_and_outside_the_cache(private, tmp_path):
    cache.store("t", "k", 1)
    key = tmp_path / "state" / "cache.key"
    assert oct(key.stat().st_mode & 0o777) == oct(0o600) and key.stat().st_size == 32
    assert not str(key).startswith(str(private))
    os.chmod(key, 0o644)  # readable by others: not a secret any more, nothing is cached
    cache._key_memo.clear()
    assert cache.load("t", "k") is None


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_an_entry_of_another_owner_is_ignored(private):
    cache.store("t", "k", 1)
    os.chown(cache.path_for("t", "k"), 12345, 12345)
    assert cache.load("t", "k") is None


def test_the_grammar_cache_is_sealed_and_a_planted_one_never_runs(tmp_path):
    """A real process: plant a pickle at the grammar cache's path; the parser ignores it, rebuilds
    its tables and still parses; the planted code never runs."""
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "POLICYLANG_CACHE_DIR": str(tmp_path / "c"), "POLICYLANG_STATE_DIR": str(tmp_path / "s")}
    policy = tmp_path / "p.policy"
    policy.write_text("rule a: deny exec rm ...\nexample deny \"rm x\"\n", encoding="utf-8")
    args = [sys.executable, "-m", "policylang", "check", str(policy)]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    grammar = list((tmp_path / "c").glob("grammar-*.pickle"))
    assert len(grammar) == 1 and _seal_ok(grammar[0])
    marker = tmp_path / "ran"
    grammar[0].unlink()
    grammar[0].write_bytes(pickle.dumps(Boom(str(marker))))
    os.chmod(grammar[0], 0o600)
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not marker.exists() and _seal_ok(grammar[0])
