"""Shortcuts inside the shell analysis give the same answers as the long way round."""
from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from policylang.analysis.shell import syntax

_PIECES = st.sampled_from([
    "a", "b", " ", "-", "=", "$", "(", ")", "{", "}", ";", "|", "&", "<", ">", "'", '"', "\\", "\n", "\t",
    "`", "#", "!", "*", "?", "[", "]", "~", "1", "<<EOF\n", "EOF", "if ", "then ", "fi", "do ", "done",
    "for ", "$((", "))", "${", "2>", "&>", "\\\n", "- 1=", "case ", "esac", " in ", ";;", "\u00e9",
])


def _covered_and_walk(text: str) -> tuple[bool, int | None]:
    data = text.encode("utf-8", "replace")
    syntax._parser()
    syntax._LOCAL.sources.append(data)
    try:
        root = syntax._parse(data).root_node
        return syntax._all_covered(root, data), syntax._skipped_walk(root, data)
    finally:
        syntax._LOCAL.sources.pop()


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=25).map("".join))
@example("- 1=")
@example("python3 - <<EOF\nprint(1)\nEOF")
@example("echo a \\\n b")
def test_quick_coverage_test_never_hides_a_skipped_byte(text: str) -> None:
    covered, skipped = _covered_and_walk(text)
    if covered:
        assert skipped is None


@pytest.mark.parametrize("text, skipped", [
    ("git status && ls", False),
    ("echo $(pwd) | grep x", False),
    ("- 1=", True),  # tree-sitter parses this as "1=": the "-" is in no node
])
def test_skipped_bytes_table(text: str, skipped: bool) -> None:
    covered, walk = _covered_and_walk(text)
    assert (walk is not None) is skipped
    assert covered is not skipped


def test_plain_commands_do_not_import_tree_sitter() -> None:
    code = (
        "import sys\n"
        "from policylang.analysis import shell\n"
        "a = shell.analyse_command('git status', cwd='/home/u', env={'HOME': '/home/u'}, home='/home/u')\n"
        "assert a.segments[0].program == 'git', a\n"
        "assert 'tree_sitter' not in sys.modules and 'tree_sitter_bash' not in sys.modules\n"
        "b = shell.analyse_command('ls | grep x', cwd='/home/u', env={'HOME': '/home/u'}, home='/home/u')\n"
        "assert [s.program for s in b.segments] == ['ls', 'grep'], b\n"
        "assert 'tree_sitter' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
