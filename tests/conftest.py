"""Every test runs without the developer's own configuration: the user's config file is looked for
under an empty XDG_CONFIG_HOME (config/discover.py), in this process and in the processes tests start.
Set at import, before any test module copies the environment."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_EMPTY = tempfile.mkdtemp(prefix="policylang-test-xdg-")
atexit.register(shutil.rmtree, _EMPTY, True)
os.environ["XDG_CONFIG_HOME"] = _EMPTY
os.environ.pop("POLICYLANG_CONFIG", None)
