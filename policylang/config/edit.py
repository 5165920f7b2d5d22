"""``policylang policy NAME``: switch a config to a preset by editing ``[security].preset`` only.

The edit goes through tomlkit, which keeps comments, order and formatting; everything but the
``preset`` value stays byte for byte (checked before writing: the edited text must parse to the
same data apart from that one key).  A list of a mode preset and a posture preset stays a list:
the entry of the new preset's kind is replaced, or the new preset is appended.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Array, String, Table

from ..diagnostics import Diagnostic, PolicyError
from .presets import load_preset, preset_names
from .tomldoc import parse_toml

_LONE_LF = re.compile(r"(?<!\r)\n")


def switch_preset(path: str | os.PathLike[str], name: str) -> None:
    """Set ``[security].preset`` of the config file ``path`` to ``name`` (created when missing).

    Raises PolicyError for an unknown preset or a config that is not valid TOML; the file is then
    left untouched.  The edit is made as :func:`edit_config` makes it.
    """
    file = os.fspath(path)
    edit_config(file, lambda text: edit_preset_text(text, name, file=file))


def edit_config(path: str, change: Callable[[str], tuple[str, list[str]]]) -> tuple[bool, str, list[str]]:
    """Apply ``change`` (old text -> new text, notes) to the config file ``path`` under a lock, keeping
    the file's identity: (whether it existed, the new text, the notes).

    - A symbolic link edits its target (the link stays a link).
    - The file is rewritten in place, so its inode, owner, group, mode and every hard link are kept
      (a rename over it would make a new file: the other links would keep the old text, and the
      owner and mode would become the editor's).
    - ``fcntl.flock`` on the target serialises concurrent edits: each one reads the text the last
      one wrote, so none is lost.
    - Before the file is touched, the new text is written and fsynced to a temporary file beside it
      (``.policylang-*.toml``), removed once the file itself is written and fsynced: a crash in
      between leaves the whole new text there.

    Raises OSError (cannot read or write), UnicodeDecodeError, or whatever ``change`` raises; then
    the file is left as it was.
    """
    import fcntl

    target = os.path.realpath(path)
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    existed = os.path.exists(target)
    fd = os.open(target, flags | os.O_CREAT, 0o644)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        raw = b"".join(chunks)
        text = raw.decode("utf-8")
        new_text, notes = change(text)
        data = new_text.encode("utf-8")
        if data != raw:
            _rewrite_in_place(fd, target, data)
        return existed, new_text, notes
    except BaseException:
        if not existed:
            try:
                if os.fstat(fd).st_size == 0:
                    os.unlink(target)
            except OSError:
                pass
        raise
    finally:
        os.close(fd)  # releases the lock


def _rewrite_in_place(fd: int, target: str, data: bytes) -> None:
    fd_tmp, tmp = tempfile.mkstemp(prefix=".policylang-", suffix=".toml", dir=os.path.dirname(target))
    with os.fdopen(fd_tmp, "wb") as fh:  # on any failure below, the temporary file keeps the new text
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], written)
    os.ftruncate(fd, len(data))
    os.fsync(fd)
    os.unlink(tmp)


def edit_preset_text(text: str, name: str, *, file: str = "config.toml") -> tuple[str, list[str]]:
    """The config text with ``[security].preset`` switched to ``name``, and notes for the user
    (what was replaced).  Raises PolicyError as ``switch_preset`` does."""
    preset = load_preset(name)
    checked, diags = parse_toml(text, file)
    if checked.data is None:
        raise PolicyError(diags)
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as err:  # tomllib accepted it; tomlkit should too
        raise PolicyError([Diagnostic("error", "toml-syntax", f"cannot edit {file}: {err}")]) from None

    notes: list[str] = []
    security = doc.get("security")
    if security is None:
        table = tomlkit.table()
        table["preset"] = name
        doc["security"] = table
        notes.append(f"added [security] preset = {name!r}")
    elif not isinstance(security, (Table, dict)) or isinstance(security, Array):
        raise PolicyError([Diagnostic("error", "wrong-type", f"{file}: security is not a table")])
    else:
        current = security.get("preset")
        if current is None:
            security["preset"] = name
            notes.append(f"added preset = {name!r}")
        elif isinstance(current, Array):
            _edit_list(current, preset.kind, name, notes)
        elif isinstance(current, str):
            if str(current) != name:
                old_kind = _kind(str(current))
                security["preset"] = _like(current, name)
                notes.append(f"replaced preset {str(current)!r} by {name!r}")
                if old_kind is not None and old_kind != preset.kind:
                    notes.append(f"{str(current)!r} is a {old_kind} preset and {name!r} a {preset.kind} preset: "
                                 f"write preset = [{str(current)!r}, {name!r}] to combine them")
        else:
            raise PolicyError([Diagnostic("error", "wrong-type",
                                          f"{file}: security.preset is neither a string nor a list")])

    new_text = tomlkit.dumps(doc)
    if "\r\n" in text and not _LONE_LF.search(text):
        new_text = _LONE_LF.sub("\r\n", new_text)
    _check_only_preset_changed(text, new_text, file)
    return new_text, notes


def _kind(name: str) -> str | None:
    if name not in preset_names():
        return None
    try:
        return str(load_preset(name).kind)
    except PolicyError:
        return None


def _like(old: Any, value: str) -> Any:
    """A tomlkit string written in the same style (basic or literal) as ``old``."""
    if isinstance(old, String):
        return tomlkit.string(value, literal=old.type.is_literal(), multiline=old.type.is_multiline())
    return tomlkit.string(value)


def _edit_list(items: Array, kind: str, name: str, notes: list[str]) -> None:
    names = [str(x) for x in items]
    if name in names:
        return
    for i, old in enumerate(names):
        if _kind(old) == kind:
            items[i] = _like(items[i], name)
            notes.append(f"replaced the {kind} preset {old!r} by {name!r}")
            return
    items.append(name)
    notes.append(f"added the {kind} preset {name!r}")


def _check_only_preset_changed(old: str, new: str, file: str) -> None:
    """The edited text parses, and to the same data as before apart from ``security.preset``."""
    try:
        before = tomllib.loads(old)
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError([Diagnostic("error", "internal", f"editing {file} would break it ({err}); not written")]) \
            from None
    for data in (before, after):
        sec = data.get("security")
        if isinstance(sec, dict):
            sec.pop("preset", None)
            if not sec and data is after and "security" not in before:
                data.pop("security")
    if before != after:
        raise PolicyError([Diagnostic("error", "internal", f"editing {file} would change more than "
                                                           "security.preset; not written")])
