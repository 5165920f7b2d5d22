"""Inline code: what a Python, JavaScript, Perl, Ruby, PHP, Lua, awk or sed source does (commands it
spawns, files it touches, hosts it reaches), and what bandit finds insecure in Python code, for the
engine to judge like any other effect."""
from __future__ import annotations

from .analyser import MAX_SOURCE, CodeFindings, analyse_code, code_language
from .bandit_checks import finding_effects

__all__ = ["MAX_SOURCE", "CodeFindings", "analyse_code", "code_language", "finding_effects"]
