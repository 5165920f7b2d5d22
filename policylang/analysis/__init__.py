"""Analysis: every kind of action into segments and effects (dispatch.py), with the command catalog
(catalog/), the shell analyser (shell/) and the inline-code analyser.

Analysis imports only the value types at the top of the package, never the engine or the language.
"""
