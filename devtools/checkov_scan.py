# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run checkov, the project's one IaC scanner, offline: its built-in checks plus ``devtools/checkov_policies``.

checkov lives in its own virtualenv (``make checkov-deps``). ``scan`` runs one checkov process over one
directory tree and returns every check result as a ``Result``. checkov takes 15-20 s to start, so callers
batch their fixtures under one root (checkov 3.3 given several ``--directory`` arguments repeats the first
one's report for the others). ``RULE_CHECKS`` names, per house rule that moved from ``devtools/tf_policy.py``
to checkov, the checkov checks that now enforce it. Suppression: ``# checkov:skip=<check id>:<reason>`` in
the resource (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKOV = Path(os.environ.get("CHECKOV_BIN", REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
POLICY_DIR = REPO_ROOT / "devtools" / "checkov_policies"

# House rule -> the checkov checks that enforce it (built-in ids, and CKV_ORG_* in devtools/checkov_policies).
RULE_CHECKS: dict[str, dict[str, str]] = {
    "encryption-at-rest": {
        "CKV_AWS_8": "aws_instance root and EBS block devices encrypted",
        "CKV_AWS_3": "aws_ebs_volume encrypted",
        "CKV_AWS_16": "aws_db_instance storage_encrypted",
        "CKV_AWS_149": "aws_secretsmanager_secret with a customer KMS key",
        "CKV_AWS_158": "aws_cloudwatch_log_group with a KMS key",
        "CKV_AWS_145": "aws_s3_bucket encrypted with KMS by default",
        "CKV_ORG_1": "aws_db_instance customer KMS key, master secret with a KMS key, no password in state",
        "CKV_ORG_3": "aws_launch_template volumes encrypted",
    },
    "no-public-data-stores": {
        "CKV_AWS_17": "aws_db_instance not publicly accessible",
        "CKV_ORG_2": "aws_db_instance publicly_accessible = false explicitly",
        "CKV2_AWS_6": "aws_s3_bucket has a public access block",
        "CKV_AWS_53": "public access block: block_public_acls",
        "CKV_AWS_54": "public access block: block_public_policy",
        "CKV_AWS_55": "public access block: ignore_public_acls",
        "CKV_AWS_56": "public access block: restrict_public_buckets",
        "CKV_AWS_20": "no public-read ACL",
        "CKV_AWS_57": "no public-write ACL",
    },
}


class CheckovError(RuntimeError):
    """checkov is missing, crashed, or could not parse what it was given."""


@dataclass(frozen=True)
class Result:
    check_id: str
    status: str  # "passed", "failed" or "skipped"
    resource: str  # the address, e.g. aws_s3_bucket.plain
    directory: Path  # the directory of the file that holds it
    name: str
    suppress_comment: str = ""


def environment() -> dict[str, str]:
    """checkov's environment: offline, and a closed loopback proxy catches any attempt to phone home."""
    return {
        **os.environ,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }


def _documents(text: str) -> Iterator[dict[str, Any]]:
    """checkov prints one JSON document per directory (a list or an object); yield every report."""
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        document, index = decoder.raw_decode(text, index)
        yield from document if isinstance(document, list) else [document]


def scan(
    directory: Path, skip_paths: Iterable[str] = (), cwd: Path = REPO_ROOT, timeout: int = 600
) -> tuple[list[Result], list[dict[str, Any]]]:
    """One checkov run over a directory tree (built-in and house checks): (results, raw reports)."""
    if not CHECKOV.is_file():
        raise CheckovError(f"checkov is not installed at {CHECKOV}: run `make checkov-deps`")
    argv = [str(CHECKOV), "--directory", str(directory)]
    for path in skip_paths:
        argv += ["--skip-path", path]
    argv += [
        "--framework", "terraform",
        "--external-checks-dir", str(POLICY_DIR),
        "--skip-download",
        "--compact",
        "--output", "json",
    ]  # fmt: skip
    run = subprocess.run(argv, capture_output=True, text=True, env=environment(), cwd=cwd, timeout=timeout, check=False)
    if not run.stdout.strip():
        raise CheckovError(f"checkov printed nothing (rc {run.returncode}):\n{run.stderr[-3000:]}")
    try:
        reports = list(_documents(run.stdout))
    except json.JSONDecodeError as error:
        raise CheckovError(f"checkov output is not JSON ({error}):\n{run.stdout[:2000]}") from error
    results = []
    for report in reports:
        for status in ("passed", "failed", "skipped"):
            for check in report.get("results", {}).get(f"{status}_checks", []):
                results.append(
                    Result(
                        check_id=check["check_id"],
                        status=status,
                        resource=check["resource"],
                        directory=Path(check["file_abs_path"]).parent,
                        name=check.get("check_name") or "",
                        suppress_comment=((check.get("check_result") or {}).get("suppress_comment") or "").strip(),
                    )
                )
    return results, reports
