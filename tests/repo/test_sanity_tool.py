# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/sanity.py: its pip bootstrap works with no network, and `make test` runs it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from sandbox.pytest_plugin import REPO_ROOT


def _sanity_tool():
    spec = importlib.util.spec_from_file_location("org_platform_sanity_tool", REPO_ROOT / "tools" / "sanity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_test_runs_sanity_before_pytest():
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = dry_run.splitlines()
    sanity = [i for i, line in enumerate(lines) if "tools/sanity.py" in line]
    pytest_runs = [i for i, line in enumerate(lines) if "/pytest" in line]
    assert sanity, dry_run
    assert pytest_runs, dry_run
    assert sanity[0] < pytest_runs[-1], dry_run


@pytest.mark.slow
def test_pip_bootstrap_installs_pip_from_the_wheel_without_an_index(tmp_path):
    sanity = _sanity_tool()
    version = sanity.pip_version()
    cached = sorted((sanity.CACHE / "pip-wheels").glob(f"pip-{version}-*.whl"))
    if not cached:
        pytest.skip(f"no pip {version} wheel in {sanity.CACHE / 'pip-wheels'} yet: make sanity downloads it once")
    cache = tmp_path / "cache"
    (cache / "pip-wheels").mkdir(parents=True)
    shutil.copy2(cached[0], cache / "pip-wheels" / cached[0].name)

    stand_in = sanity.bootstrap_pip(cache)

    assert stand_in == cache / f"get_pip_{version.replace('.', '_')}.py"
    assert sorted(p.name for p in (cache / "pip-wheels").iterdir()) == [cached[0].name], "nothing was downloaded"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The arguments ansible-test's bootstrap gives get-pip; an index nothing listens on proves none is used.
    env = dict(os.environ, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_CONFIG_FILE=os.devnull)
    run = subprocess.run(
        [str(python), str(stand_in), "--disable-pip-version-check", f"pip=={version}", "--no-setuptools", "--no-wheel"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    installed = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert installed.startswith(f"pip {version} "), installed


def test_pip_bootstrap_says_what_to_do_when_the_wheel_cannot_be_fetched(tmp_path, monkeypatch):
    sanity = _sanity_tool()
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(SystemExit, match=r"could not download the pip .* put pip-.*\.whl into"):
        sanity.bootstrap_pip(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("get_pip_*.py"))
