"""The container backend for real, where a container engine runs here and an image is at hand.

Nothing is pulled: the image is named by ``POLICYLANG_TEST_CONTAINER_IMAGE`` and must already be
present (any image with ``sh``, ``touch`` and ``cat``, e.g. a busybox or debian image).  Without
an engine that answers, or without the image, the tests are skipped with the reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sandbox_backends import SCRATCH, SECRET

from policylang.sandbox.backends import detect
from policylang.sandbox.build import wrap
from policylang.sandbox.plan import Plan
from policylang.settings import SandboxLimits, SandboxSettings

IMAGE = os.environ.get("POLICYLANG_TEST_CONTAINER_IMAGE", "")


def _why_not() -> str | None:
    backend = detect(SandboxSettings(backend="container", container_image=IMAGE or "unset"))
    if backend is None:
        return "neither podman nor docker is installed"
    try:
        info = subprocess.run([backend.program, "info"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{backend.program} does not answer: {exc}"
    if info.returncode != 0:
        return f"{backend.program} cannot reach its engine: {info.stderr.strip()[-200:]}"
    if not IMAGE:
        return "POLICYLANG_TEST_CONTAINER_IMAGE names no image (nothing is pulled)"
    found = subprocess.run([backend.program, "image", "inspect", IMAGE], capture_output=True, timeout=30, check=False)
    return None if found.returncode == 0 else f"the image {IMAGE} is not present here"


@pytest.fixture
def ws() -> Iterator[Path]:
    reason = _why_not()
    if reason is not None:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    SCRATCH.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="container-test-", dir=SCRATCH))
    try:
        (root / "ws" / ".policylang").mkdir(parents=True)
        (root / "ws" / ".env").write_text(f"TOKEN={SECRET}\n")
        yield root / "ws"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(ws: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    backend = detect(SandboxSettings(backend="container", container_image=IMAGE))
    assert backend is not None
    plan = Plan(str(ws), str(ws), str(ws.parent), (str(ws / ".env"),), (str(ws / ".policylang"),),
                SandboxLimits(), IMAGE)
    return subprocess.run(list(wrap(backend, argv, plan).argv), capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_container_writes_only_the_workspace_and_masks_what_is_hidden(ws: Path) -> None:
    assert _run(ws, ["touch", str(ws / "made-inside")]).returncode == 0
    assert (ws / "made-inside").exists()
    assert _run(ws, ["touch", "/made-outside"]).returncode != 0  # a read-only root
    assert _run(ws, ["touch", str(ws / ".policylang" / "x.policy")]).returncode != 0
    assert not (ws / ".policylang" / "x.policy").exists()
    assert SECRET not in _run(ws, ["cat", str(ws / ".env")]).stdout
