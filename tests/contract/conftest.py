"""Installs Croct's official JavaScript SDK once (pinned) and runs it against a sandbox.

The SDK comes from the npm registry through npm itself, into a cache under ``var/``;
a machine without Node, npm or registry access fails these tests with the reason,
never skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integrations.croct.sandbox import create_app
from integrations.sandbox import serve

CROCT_SDK_VERSION = "0.22.1"
SCRIPT = Path(__file__).with_name("croct_sdk_client.mjs")
REPO = Path(__file__).resolve().parents[2]


def _cache_dir() -> Path:
    # Under the repository's var/ (git-ignored), not the per-run temp var/, so the
    # package is fetched once per machine.
    default = REPO / "var" / "test-cache" / f"croct-sdk-{CROCT_SDK_VERSION}"
    return Path(os.environ.get("CROCT_SDK_CACHE_DIR", default))


def _installed_version(directory: Path) -> str | None:
    manifest = directory / "node_modules" / "@croct" / "sdk" / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def croct_sdk_dir() -> Path:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"the Croct SDK contract test needs {tool} (Node 20) on PATH")
    directory = _cache_dir()
    if _installed_version(directory) == CROCT_SDK_VERSION:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text('{"private": true, "type": "module"}\n')
    try:
        done = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--save-exact",
                f"@croct/sdk@{CROCT_SDK_VERSION}",
            ],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("npm install @croct/sdk timed out: is the npm registry reachable?")
    if done.returncode != 0 or _installed_version(directory) != CROCT_SDK_VERSION:
        pytest.fail(
            f"npm could not install @croct/sdk@{CROCT_SDK_VERSION} (is the npm registry "
            f"reachable?):\n{done.stderr[-2000:]}"
        )
    return directory


@pytest.fixture(scope="module")
def croct_sandbox():
    running = serve(create_app())
    yield running
    running.stop()


@pytest.fixture
def sandbox(croct_sandbox):
    croct_sandbox.app.reset()
    return croct_sandbox


@pytest.fixture
def run_sdk(croct_sdk_dir, sandbox):
    """Run one scenario of croct_sdk_client.mjs; returns its JSON answer."""

    def run(scenario: str, api_key: str, **args):
        payload = {
            "sdkDir": str(croct_sdk_dir),
            "baseUrl": sandbox.url,
            "apiKey": api_key,
            "scenario": scenario,
            "args": args,
        }
        done = subprocess.run(
            ["node", str(SCRIPT), json.dumps(payload)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run
