"""Config edits keep the file's identity and lose nothing: ``policylang policy NAME --config F``
edits a symlink's target, keeps owner, mode and hard links, and serialises concurrent edits."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from policylang.config.edit import edit_config, switch_preset

CONFIG = '[security]\npreset = "approve"\n# keep me\n'


def _cli(args, tmp_path):
    env = {"HOME": str(tmp_path / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "POLICYLANG_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "policylang", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_symlinked_config_edits_its_target(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text(CONFIG, encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    done = _cli(["policy", "strict", "--config", str(link)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert 'preset = "strict"' in real.read_text(encoding="utf-8")
    assert "# keep me" in real.read_text(encoding="utf-8")


def test_mode_inode_and_hard_links_are_kept(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    os.chmod(path, 0o640)
    other = tmp_path / "other-name.toml"
    os.link(path, other)
    before = os.stat(path)
    switch_preset(path, "strict")
    after = os.stat(path)
    assert (after.st_ino, after.st_mode, after.st_nlink, after.st_uid, after.st_gid) == \
        (before.st_ino, before.st_mode, before.st_nlink, before.st_uid, before.st_gid)
    assert 'preset = "strict"' in other.read_text(encoding="utf-8")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".policylang-")]  # no temporary left


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another owner needs root")
def test_the_owner_is_kept(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    os.chown(path, 12345, 23456)
    switch_preset(path, "strict")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (12345, 23456)


def test_a_failed_edit_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")

    def broken(text: str) -> tuple[str, list[str]]:
        raise ValueError("no")

    with pytest.raises(ValueError):
        edit_config(str(path), broken)
    assert path.read_text(encoding="utf-8") == CONFIG
    missing = tmp_path / "new.toml"
    with pytest.raises(ValueError):
        edit_config(str(missing), broken)
    assert not missing.exists()  # not left behind empty


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    done = _cli(["policy", "strict", "--config", str(fifo)], tmp_path)
    assert done.returncode != 0 and "not a regular file" in done.stderr


WORKER = textwrap.dedent("""
    import sys
    from policylang.config.edit import edit_config
    path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for i in range(first, first + count):
        edit_config(path, lambda text: (text + f"# edit {i}\\n", []))
""")


def test_concurrent_edits_from_many_processes_are_all_kept(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    link = tmp_path / "link.toml"
    os.link(path, link)
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    procs, per = 12, 25  # 300 edits
    running = [subprocess.Popen([sys.executable, str(script), str(path if n % 2 else link), str(n * per), str(per)])
               for n in range(procs)]
    assert all(p.wait(timeout=300) == 0 for p in running)
    lines = path.read_text(encoding="utf-8").splitlines()
    edits = sorted(int(ln.split()[-1]) for ln in lines if ln.startswith("# edit "))
    assert edits == list(range(procs * per))
    assert lines[:3] == CONFIG.splitlines()
