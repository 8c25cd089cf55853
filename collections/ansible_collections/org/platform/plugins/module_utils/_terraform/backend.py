# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 backend every stack uses, and what the runner says about a state lock someone holds.

Backend settings: https://developer.hashicorp.com/terraform/language/backend/s3
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOCK_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
UNLOCK_PLAYBOOK = "playbooks/stacks_unlock.yml"


@dataclass(frozen=True)
class BackendConfig:
    """The S3 backend every stack uses; the key is ``{env}/{stack}/terraform.tfstate``."""

    bucket: str
    region: str
    dynamodb_table: str | None = "terraform-state-lock"
    kms_key_id: str | None = None
    endpoint_url: str | None = None
    key_prefix: str = ""

    def key(self, environment: str, stack: str) -> str:
        prefix = f"{self.key_prefix.strip('/')}/" if self.key_prefix.strip("/") else ""
        return f"{prefix}{environment}/{stack}/terraform.tfstate"

    def render(self, environment: str, stack: str) -> str:
        """The ``-backend-config`` file for one stack, as HCL."""
        settings: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key(environment, stack),
            "region": self.region,
            "encrypt": True,
        }
        if self.kms_key_id:
            settings["kms_key_id"] = self.kms_key_id
        # Both locks: S3-native locking (a conditional write of <key>.tflock, the S3 backend's own lock since
        # Terraform 1.10) beside the DynamoDB table SPEC M2 names; Terraform takes and releases both.
        # https://developer.hashicorp.com/terraform/language/backend/s3#state-locking
        # Terraform 1.15 warns that dynamodb_table is deprecated whenever it is set, use_lockfile or not (the S3
        # backend's PrepareConfig), so init and plan logs keep that warning while the table is required.
        settings["use_lockfile"] = True
        if self.dynamodb_table:
            settings["dynamodb_table"] = self.dynamodb_table
        lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        if self.endpoint_url:
            # A loopback emulator: no real account, no path-style DNS, no metadata service.
            endpoints = {svc: self.endpoint_url for svc in ("s3", "dynamodb", "sts", "iam")}
            lines.append("endpoints = {" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in endpoints.items()) + "}")
            lines += [
                "use_path_style = true",
                "skip_credentials_validation = true",
                "skip_requesting_account_id = true",
                "skip_metadata_api_check = true",
                "skip_region_validation = true",
            ]
        return "\n".join(lines) + "\n"


def local_identity() -> str:
    """``user@host`` as Terraform writes it into a lock's ``Who``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def lock_message(environment: str, stack: str, lock: Mapping[str, str]) -> str:
    """Who holds the lock, whether that is us (likely a run that died), and the one command that frees it."""
    who = lock.get("Who", "unknown")
    lock_id = lock.get("ID", "<ID>")
    holder = (
        f"this user and host ({who}), most likely an earlier run that was killed or crashed"
        if who == local_identity()
        else f"{who} (another user or host: wait for that run to finish)"
    )
    return (
        f"state of {stack} is locked by {holder}; lock ID {lock_id}, operation {lock.get('Operation', '?')}, "
        f"created {lock.get('Created', '?')}; not force-unlocking it on our own. If no run holds it any more, "
        f"release exactly this lock with: ansible-playbook {UNLOCK_PLAYBOOK} -i inventories/{environment} "
        f"-e terraform_unlock_stack={stack} -e terraform_unlock_id={lock_id} "
        f"(module option: force_unlock: {{stack: {stack}, lock_id: {lock_id}}})"
    )
