"""The shell analyser: a command string or argv into segments and effects, with tree-sitter-bash."""
