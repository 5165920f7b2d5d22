"""Inline code: what a Python, JavaScript, Perl, Ruby, PHP, Lua, awk or sed source does (commands it
spawns, files it touches, hosts it reaches), for the engine to judge like any other effect."""
from __future__ import annotations

from .analyser import MAX_SOURCE, CodeFindings, analyse_code, code_language

__all__ = ["MAX_SOURCE", "CodeFindings", "analyse_code", "code_language"]
