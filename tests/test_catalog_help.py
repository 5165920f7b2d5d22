"""The catalog's argv grammars against the programs themselves: for every model that names how to ask
its program for help (``help = [...]`` in the data), where the program is installed here, every
option its help lists is declared, and an option the help says takes a value is declared with one.

The help is read from a real process: argv list, no shell, a scratch HOME, no input, a timeout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from helptext import help_options

from policylang.analysis.catalog import CommandModel, all_models
from policylang.analysis.catalog.grammar import help_command

# Programs whose grammar must be checked against their help wherever they are installed.
MUST_CHECK = """
ls cat head tail wc sort uniq cut tr cp mv rm rmdir mkdir touch ln chmod chown chgrp stat du df tee dd
truncate install shred split sed grep find xargs env nice nohup timeout stdbuf ionice chrt taskset setsid
flock chroot nsenter unshare script su runuser tar curl wget ssh scp git sudo rsync parallel watch
""".split()


def _models() -> Iterator[tuple[tuple[str, ...], CommandModel]]:
    seen: set[int] = set()
    for name, model in sorted(all_models().items()):
        if id(model) in seen or model.name != name:
            continue
        seen.add(id(model))
        yield (name,), model
        stack = [((name, sub_name), sub) for sub_name, sub in model.subcommands.items() if sub.name == sub_name]
        while stack:
            path, sub = stack.pop()
            yield path, sub
            stack.extend(((*path, n), s) for n, s in sub.subcommands.items() if s.name == n)


CHECKED = [(path, model) for path, model in _models() if help_command(model) is not None]


def _help_text(path: tuple[str, ...], model: CommandModel, home: Path) -> str | None:
    # the programs on PATH, and the ones installed beside the interpreter running the tests (policylang
    # itself, in a virtualenv that is not activated)
    exe = shutil.which(path[0]) or shutil.which(path[0], path=os.path.dirname(sys.executable))
    if exe is None:
        return None
    argv = [exe, *path[1:], *(help_command(model) or ())]
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "LC_ALL": "C",
           "COLUMNS": "200", "PAGER": "cat", "MANPAGER": "cat", "GIT_PAGER": "cat"}
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=home,
                          timeout=30, errors="replace")
    return proc.stdout + "\n" + proc.stderr


@pytest.mark.parametrize("name", MUST_CHECK)
def test_the_programs_that_matter_are_checked(name: str) -> None:
    model = dict(all_models()).get(name)
    assert model is not None, f"{name} is not in the catalog"
    assert help_command(model) is not None, f"{name} names no help command: its grammar is not checked"
    assert model.strict, f"{name} must declare every option (strict)"


@pytest.mark.parametrize("path, model", CHECKED, ids=[" ".join(p) for p, _ in CHECKED])
def test_every_option_the_help_lists_is_declared(path: tuple[str, ...], model: CommandModel, tmp_path: Path) -> None:
    text = _help_text(path, model, tmp_path)
    if text is None:
        pytest.skip(f"{path[0]} is not installed on this machine")
    listed = help_options(text)
    assert listed, f"no option found in the help of {' '.join(path)}:\n{text[:2000]}"
    missing = []
    wrong_value = []
    for spelling, value in listed.items():
        if spelling[1:].isdigit() or any(len(part) > 1 and part.isupper() for part in spelling.lstrip("-").split("-")):
            continue  # "-20", "-NUM", "--no-OPTION": a number, or a placeholder the help explains
        key = spelling.casefold() if spelling.startswith("--") else spelling
        opt = model.options.get(key)
        if opt is None and not spelling.startswith("--") and len(spelling) > 2:
            opt = model.options.get(spelling[:2])  # "-Idirectory", "-W." : the short option and its value
        if opt is None:
            missing.append(spelling)
        elif value == "required" and not opt.value:
            wrong_value.append(spelling)
    assert not missing, f"{' '.join(path)}: options in its help that the grammar does not declare: {missing}"
    assert not wrong_value, f"{' '.join(path)}: options its help gives a value the grammar does not: {wrong_value}"
