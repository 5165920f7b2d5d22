"""The shell analyser: a command string or argv into segments and effects, with tree-sitter-bash.

analyse.py   the entry points (analyse_command, analyse_argv) and the final Analyser class
memo.py      the exact memo of analyses
fastpath.py  plain strings split without tree-sitter
syntax.py    tree-sitter-bash parsing and node helpers
walker.py    statements, lists, pipelines, control flow, substitutions, redirections
words.py     word expansion
simple.py    simple commands: catalog look-up, exec, path and network effects
runners.py   commands that run other commands, and builtins that change the shell's state
state.py     limits, value types and the analyser's base state
"""
from __future__ import annotations

from .analyse import analyse_argv, analyse_command
from .memo import set_memo
from .state import MAX_DEPTH, MAX_INPUT, MAX_SEGMENTS

__all__ = ["MAX_DEPTH", "MAX_INPUT", "MAX_SEGMENTS", "analyse_argv", "analyse_command", "set_memo"]
