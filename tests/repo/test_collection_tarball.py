# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection stands on its own: install the tarball elsewhere and run its roles from there.

`ansible-galaxy collection build`, then `ansible-galaxy collection install --no-deps` into a temporary
collections path (offline: the dependencies are the `ansible` package's bundled collections). The plays run
from a temporary directory outside the repository, with an ansible.cfg of their own and
ANSIBLE_COLLECTIONS_PATH = <tmp>/collections : <the ansible package's collections>, so any file the roles or
modules took from the repository would show up as a path outside <tmp> in the -vvv output, or as a failure.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from sandbox.pytest_plugin import REPO_ROOT, VENV_BIN

SOURCE = REPO_ROOT / "collections" / "ansible_collections" / "org" / "platform"
MODULE_UTILS_PREFIX = "ansible_collections.org.platform.plugins.module_utils"
# Repository packages (and the repository's conftest) that nothing shipped may import.
REPOSITORY_PACKAGES = {"sandbox", "devtools", "benchmarks", "tools", "conftest"}
# Plugin code waiting for its plugin (none now: the plan gate runs inside terraform_stacks); the collection's own
# test_module_utils_imported.py keeps the same list and fails once they are imported.
AWAITING_THEIR_PLUGIN: set[str] = set()


@dataclass(frozen=True)
class Installed:
    tarball: Path
    names: frozenset[str]
    collections: Path  # the collections path the tarball was installed into
    root: Path  # <collections>/ansible_collections/org/platform
    work: Path  # a scratch directory outside the repository


def _bundled_collections() -> Path:
    """The directory that holds the `ansible` package's ansible_collections/ (amazon.aws, community.*)."""
    import ansible_collections

    ours = (REPO_ROOT / "collections").resolve()
    for entry in map(Path, ansible_collections.__path__):
        # Not the repository's own collections/ (a virtualenv may well live inside the checkout, as in CI).
        if (entry / "amazon" / "aws" / "MANIFEST.json").is_file() and ours not in entry.resolve().parents:
            return entry.parent
    raise AssertionError(f"no installed amazon.aws in {list(ansible_collections.__path__)}")


def _clean_env(work: Path, collections: Path) -> dict[str, str]:
    """The environment of a user somewhere else: no repository ansible.cfg, PYTHONPATH or ANSIBLE_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    config = work / "ansible.cfg"
    config.write_text("[defaults]\nstdout_callback = ansible.builtin.default\n")
    env |= {
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}{os.pathsep}{_bundled_collections()}",
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work / "remote-tmp"),
        "ANSIBLE_HOME": str(work / "home"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    }
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("tarball")
    dist, collections, work = base / "dist", base / "collections", base / "work"
    for directory in (dist, collections, work):
        directory.mkdir()
    env = _clean_env(work, collections)
    galaxy = str(VENV_BIN / "ansible-galaxy")

    def run(*argv: str) -> None:
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    run(galaxy, "collection", "build", "--output-path", str(dist), str(SOURCE))
    (tarball,) = dist.glob("org-platform-*.tar.gz")
    run(galaxy, "collection", "install", "--no-deps", "-p", str(collections), str(tarball))
    with tarfile.open(tarball) as archive:
        names = frozenset(archive.getnames())
    root = collections / "ansible_collections" / "org" / "platform"
    assert (root / "MANIFEST.json").is_file(), f"nothing installed under {collections}"
    return Installed(tarball, names, collections, root, work)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _playbook(installed: Installed, name: str, tasks: list[dict]) -> Path:
    play_dir = installed.work / name
    play_dir.mkdir()
    play = [{"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    path = play_dir / "play.yml"
    path.write_text(json.dumps(play, indent=2))  # JSON is YAML
    return path


def _run(installed: Installed, playbook: Path, *, check: bool) -> subprocess.CompletedProcess:
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-vvv", str(playbook)]
    argv += ["-e", json.dumps({"ansible_python_interpreter": str(VENV_BIN / "python")})]
    if check:
        argv.append("--check")
    env = _clean_env(installed.work, installed.collections)
    return subprocess.run(argv, cwd=playbook.parent, env=env, capture_output=True, text=True, timeout=600, check=False)


def _assert_ran_from_the_tarball(installed: Installed, output: str, module: str, role: str) -> None:
    module_file = installed.root / "plugins" / "modules" / f"{module}.py"
    action_file = installed.root / "plugins" / "action" / f"{module}.py"
    if action_file.is_file():
        # Run in the controller by the tarball's action plugin (only the tarball's collection is on the
        # collections path): the module itself never starts.
        assert any(name.endswith(f"plugins/action/{module}.py") for name in installed.names)
        assert f"Using module file {module_file}" not in output, output
    else:
        assert f"Using module file {module_file}" in output, output
    assert str(installed.root / "roles" / role / "tasks") in output, output
    assert str(SOURCE) not in output, "a file of the repository's collection was used"


@pytest.mark.slow
def test_tarball_ships_collection_content_only(installed: Installed) -> None:
    names = installed.names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]
    assert not [n for n in names if Path(n).name == "conftest.py"], "a conftest.py ships"
    assert not [n for n in names if n.startswith("tests/integration")], "the sandbox's pytest suites ship"
    offenders = []
    for name in sorted(n for n in names if n.endswith(".py")):
        reached = {module.split(".")[0] for module in _imports(installed.root / name)}
        if reached & REPOSITORY_PACKAGES:
            offenders.append(f"{name} imports {sorted(reached & REPOSITORY_PACKAGES)}")
    assert not offenders, f"shipped files import repository code: {offenders}"


@pytest.mark.slow
def test_every_shipped_module_util_is_imported_by_a_shipped_plugin(installed: Installed) -> None:
    plugins = installed.root / "plugins"
    utils = {}
    for path in (plugins / "module_utils").rglob("*.py"):
        parts = path.relative_to(plugins / "module_utils").with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        utils[".".join((MODULE_UTILS_PREFIX, *parts))] = path
    frontier = [
        name
        for path in plugins.rglob("*.py")
        if plugins / "module_utils" not in path.parents
        for name in _imports(path)
        if name in utils
    ]
    reached: set[str] = set()
    while frontier:
        name = frontier.pop()
        if name not in reached:
            reached.add(name)
            frontier += [p for p in (name.rsplit(".", 1)[0],) if p in utils]
            frontier += [dep for dep in _imports(utils[name]) if dep in utils]
    unused = {str(utils[name].relative_to(installed.root)) for name in set(utils) - reached}
    assert unused == AWAITING_THEIR_PLUGIN, f"module_utils no shipped plugin imports: {sorted(unused)}"


@pytest.mark.slow
def test_installed_module_docs_come_from_the_tarball(installed: Installed) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", "-t", "module", "org.platform.golden_ami"],
        cwd=installed.work,
        env=_clean_env(installed.work, installed.collections),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["org.platform.golden_ami"]["doc"]
    assert Path(doc["filename"]) == installed.root / "plugins" / "modules" / "golden_ami.py"


@pytest.mark.slow
def test_installed_role_validates_through_its_module_in_check_mode(installed: Installed) -> None:
    """shared_rds_schemas' validate entry point: argument spec, role tasks and org.platform.shared_rds_services."""

    def validate(services: list[dict]) -> dict:
        return {
            "name": "Validate the shared RDS inputs",
            "ansible.builtin.include_role": {"name": "org.platform.shared_rds_schemas", "tasks_from": "validate"},
            "vars": {
                # What an inventory gives every play (the role's defaults derive from them).
                "platform_env": "dev",
                "platform_region": "us-east-1",
                "shared_rds_schemas_services": services,
                "shared_rds_schemas_login_ca_cert": str(installed.work / "rds-global-bundle.pem"),
                "shared_rds_schemas_log_dir": str(installed.work / "logs"),
            },
        }

    good = _run(installed, _playbook(installed, "good", [validate([{"name": "orders"}])]), check=True)
    assert good.returncode == 0, good.stdout + good.stderr
    _assert_ran_from_the_tarball(installed, good.stdout, "shared_rds_services", "shared_rds_schemas")
    assert "failed=0" in good.stdout

    bad = _run(installed, _playbook(installed, "bad", [validate([{"name": "Orders; DROP"}])]), check=True)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    _assert_ran_from_the_tarball(installed, bad.stdout, "shared_rds_services", "shared_rds_schemas")
    assert "Orders; DROP" in bad.stdout, "the refusal names the bad service"


@pytest.mark.integration
def test_installed_golden_ami_role_decides_in_check_mode_against_the_emulator(installed: Installed, aws) -> None:
    """golden_ami's main entry point, check mode: it decides with org.platform.golden_ami and builds nothing."""
    packer_dir = installed.work / "packer"
    shutil.copytree(REPO_ROOT / "packer", packer_dir)
    task = {
        "name": "Find or build the golden AMI",
        "ansible.builtin.include_role": {"name": "org.platform.golden_ami"},
        "vars": {
            "golden_ami_region": aws.region,
            "golden_ami_endpoint_url": aws.aws_endpoint_url,
            "golden_ami_build_mode": "simulated",
            "golden_ami_packer_dir": str(packer_dir),
            "golden_ami_log_dir": str(installed.work / "logs" / "packer"),
        },
    }
    run = _run(installed, _playbook(installed, "golden_ami", [task]), check=True)
    assert run.returncode == 0, run.stdout + run.stderr
    _assert_ran_from_the_tarball(installed, run.stdout, "golden_ami", "golden_ami")
    assert "BUILD REQUIRED (none_found)" in run.stdout
    assert "check mode: nothing is built" in run.stdout
    ec2 = boto3.client("ec2", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
    ssm = boto3.client("ssm", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
    assert ec2.describe_images(Owners=["self"])["Images"] == [], "check mode registered an image"
    assert ssm.describe_parameters()["Parameters"] == [], "check mode published a parameter"
