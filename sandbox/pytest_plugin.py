# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox's pytest plugin: a private sandbox per test session (worker), and a playbook runner.

Loaded for every test run by the repository's root ``conftest.py`` (``pytest_plugins``), so the collection's
own ``tests/`` import no repository code. Fixtures: ``repo_root``, ``sandbox``, ``aws``, ``playbook``; helpers
to import: ``create_state_backend``, ``run_playbook``, ``VENV_BIN``, ``REPO_ROOT`` (docs/DEVELOPING.md,
"Test fixtures").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.services import REPO_ROOT, Sandbox

VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class SandboxEndpoints:
    aws_endpoint_url: str
    region: str
    mysql_host: str
    mysql_port: int
    mysql_admin_user: str
    mysql_admin_password_file: Path
    state_dir: Path

    @property
    def mysql_admin_password(self) -> str:
        return self.mysql_admin_password_file.read_text()

    def reset_aws(self) -> None:
        """Forget everything the AWS emulator holds (moto's reset API)."""
        url = f"{self.aws_endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - http://127.0.0.1 emulator
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


def pytest_collection_modifyitems(config, items) -> None:
    """Heaviest modules first (longest processing time first).

    `make test` spreads modules over pytest-xdist workers (``--dist loadscope --no-loadscope-reorder``), each
    worker taking the next module in collection order when it is free; a module's weight is the ``seconds`` of
    its ``slow`` mark (its measured running time, see docs/DEVELOPING.md). Starting the longest modules first
    keeps one of them from starting last and running alone. The order within a module, and of unweighted
    modules, is unchanged: a stable sort on the module's weight.
    """

    def module(item) -> str:
        return getattr(getattr(item, "module", None), "__name__", "")

    weights: dict[str, float] = {}
    for item in items:
        seconds = [float(mark.kwargs.get("seconds", 0)) for mark in item.iter_markers("slow")]
        weights[module(item)] = max([weights.get(module(item), 0.0), *seconds])
    items.sort(key=lambda item: -weights[module(item)])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory (where site.yml, terraform/ and sandbox/ are)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> SandboxEndpoints:
    """Start a private AWS emulator and MariaDB for this test session; stop and remove them after."""
    state_dir = tmp_path_factory.mktemp("sandbox")
    services = Sandbox(state_dir)
    endpoints = services.up()["endpoints"]
    try:
        yield SandboxEndpoints(
            aws_endpoint_url=endpoints["aws"]["endpoint_url"],
            region=endpoints["aws"]["region"],
            mysql_host=endpoints["mysql"]["host"],
            mysql_port=endpoints["mysql"]["port"],
            mysql_admin_user=endpoints["mysql"]["admin_user"],
            mysql_admin_password_file=Path(endpoints["mysql"]["admin_password_file"]),
            state_dir=state_dir,
        )
    finally:
        services.down(purge=True)


@pytest.fixture
def aws(sandbox, monkeypatch) -> SandboxEndpoints:
    """The AWS emulator, emptied before the test, with boto3/botocore pointed at it through the env."""
    sandbox.reset_aws()
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.aws_endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator-dummy-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator-dummy-secret-access-key-0000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", sandbox.region)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return sandbox


def create_state_backend(bucket: str, table: str = "terraform-state-lock", kms: bool = False) -> str | None:
    """Create a Terraform state bucket and lock table in the emulator (boto3 from the environment).

    Returns the ARN of a new KMS key for the state when ``kms`` is set.
    """
    import boto3

    boto3.client("s3").create_bucket(Bucket=bucket)
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if kms:
        return boto3.client("kms").create_key(Description="terraform-state-key")["KeyMetadata"]["Arn"]
    return None


def throwaway_kubeconfig(directory: Path, server: str) -> tuple[Path, Path, Path]:
    """A kubeconfig shaped as RKE2 writes it (CA and admin certificate inline), from one throwaway self-signed
    P-256 pair valid for 127.0.0.1: (certificate, key, kubeconfig). The certificate serves a loopback test API too.
    """
    import base64
    import subprocess

    key, cert = directory / "throwaway.key", directory / "throwaway.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=system:admin", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    b64 = {name: base64.b64encode(path.read_bytes()).decode() for name, path in (("crt", cert), ("key", key))}
    kubeconfig = directory / "rke2.yaml"
    kubeconfig.write_text(
        f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {b64['crt']}\n    server: {server}\n"
        f"  name: default\nusers:\n- name: default\n  user:\n    client-certificate-data: {b64['crt']}\n"
        f"    client-key-data: {b64['key']}\n"
    )
    return cert, key, kubeconfig


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_playbook(
    playbook: str | Path,
    *,
    inventory: str | Path | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    env: dict | None = None,
    cwd: Path = REPO_ROOT,
    timeout: int = 900,
) -> PlaybookRun:
    """Run ansible-playbook from the repository root with the project's ansible.cfg."""
    argv = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    if inventory:
        argv += ["-i", str(inventory)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    run_env = os.environ | {"ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    run_env["PATH"] = f"{VENV_BIN}{os.pathsep}{run_env.get('PATH', '')}"
    run_env |= env or {}
    proc = subprocess.run(argv, cwd=cwd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def playbook():
    """``run_playbook``: ansible-playbook from the repository root with the project's ansible.cfg."""
    return run_playbook
