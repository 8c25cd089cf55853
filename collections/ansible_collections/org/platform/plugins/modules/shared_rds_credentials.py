#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A shared RDS service's credentials secret: created once, rotated through AWSPENDING, promoted, deleted."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: shared_rds_credentials
short_description: Keep a shared RDS service's database credentials in Secrets Manager
description:
  - Manages the secret C(/<env>/<service>/db-credentials) holding the JSON document
    C({username, password, database, host, port}) of one service of the shared MySQL.
  - C(state=present) creates the secret with a random password (32 characters or more) when it does not exist
    and otherwise keeps the password. It returns the password MySQL must have, so the task B(must) set
    C(no_log=true).
  - Rotation follows Secrets Manager's rotation protocol. With C(rotate=true) the new document is written as
    an C(AWSPENDING) version and C(pending=true) is returned; C(AWSCURRENT) is left alone until
    C(state=promoted) is called after MySQL has the new password. A pending version left by an interrupted run
    is resumed (its password returned again, nothing new generated) whatever C(rotate) says.
  - C(state=promoted) moves C(AWSCURRENT) to the pending version; without one it changes nothing.
  - C(state=absent) schedules the secret's deletion with a recovery window; a missing or already scheduled
    secret is not a change.
  - Connection details that differ from the secret's (for example a moved endpoint) are written as a new
    C(AWSCURRENT) version with the same password. The KMS key, description and tags are converged; tags are
    added or updated, never purged.
version_added: 0.1.0
author: Platform team (@org-platform)
options:
  name:
    description: Name of the secret.
    type: str
    required: true
  state:
    description: present (ensure, maybe stage a rotation), promoted (finish a rotation) or absent.
    type: str
    choices: [present, promoted, absent]
    default: present
  rotate:
    description: Stage a new password as AWSPENDING (C(state=present) only).
    type: bool
    default: false
  username:
    description: The service's MySQL user. Required with C(state=present).
    type: str
  database:
    description: The service's database. Required with C(state=present).
    type: str
  host:
    description: The DB endpoint applications use (not a tunnel's local address). Required with C(state=present).
    type: str
  port:
    description: The DB port applications use. Required with C(state=present).
    type: int
  kms_key_id:
    description: KMS key (ARN) that encrypts the secret.
    type: str
  description:
    description: Description of the secret.
    type: str
  tags:
    description: Tags the secret must carry (added or updated, never purged).
    type: dict
    default: {}
  password_length:
    description: Length of a generated password (32 or more).
    type: int
    default: 40
  recovery_window_in_days:
    description: With C(state=absent), days during which the deleted secret can still be restored (7 to 30).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Predicts C(changed) and changes nothing; returns a throwaway password where a new one would be made.
  diff_mode:
    support: none
    description: No diff is returned; the secret's document holds a password, and C(updated) names what converged.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Stage the service's credentials
  org.platform.shared_rds_credentials:
    name: /dev/fileflow/db-credentials
    username: fileflow_user
    database: fileflow
    host: dev-shared-mysql.abcdefghijkl.ap-northeast-2.rds.amazonaws.com
    port: 3306
    kms_key_id: "{{ secrets_manager_key_arn }}"
    rotate: false
  register: credentials
  no_log: true

- name: Promote the rotated password once MySQL has it
  org.platform.shared_rds_credentials:
    name: /dev/fileflow/db-credentials
    state: promoted
  when: credentials.pending
"""

RETURN = r"""
arn:
  description:
    - ARN of the secret.
    - C(null) when there is no secret (check mode before it is created, or C(state=absent) or C(state=promoted)
      on a secret that does not exist).
  returned: always
  type: str
  sample: arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:/dev/fileflow/db-credentials-AbCdEf
version_id:
  description:
    - The version holding the returned password (pending or current), or the version promoted.
    - C(null) in check mode for a version not yet written, and with C(state=absent).
  returned: always
  type: str
  sample: 5f3c8a52-1111-2222-3333-444455556666
created:
  description: The secret was (or would be) created.
  returned: always
  type: bool
  sample: false
restored:
  description: A secret scheduled for deletion was (or would be) restored.
  returned: always
  type: bool
  sample: false
rotated:
  description: A new password was (or would be) staged as AWSPENDING.
  returned: always
  type: bool
  sample: true
resumed:
  description: A pending version left by an earlier run was found and is being finished.
  returned: always
  type: bool
  sample: false
pending:
  description: The returned password is pending; set MySQL to it, then call C(state=promoted).
  returned: always
  type: bool
  sample: true
promoted:
  description: AWSCURRENT was (or would be) moved to the pending version.
  returned: always
  type: bool
  sample: false
deleted:
  description: The secret was (or would be) scheduled for deletion.
  returned: always
  type: bool
  sample: false
updated:
  description:
    - What was converged on an existing secret; C(document:<keys>) for connection details written as a new
      version, C(kms_key_id), C(description), C(tags:<keys>).
  returned: always
  type: list
  elements: str
  sample: ["document:host", "tags:Owner"]
password:
  description: The password MySQL must have. Never display it; the task must set C(no_log).
  returned: with state=present
  type: str
  sample: "(40 random characters; never shown)"
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import fail_json_aws_from, module_client
from ansible_collections.org.platform.plugins.module_utils.shared_rds_credentials import (
    CredentialsError,
    CredentialsManager,
    CredentialSpec,
)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "promoted", "absent"], "default": "present"},
            "rotate": {"type": "bool", "default": False},
            "username": {"type": "str"},
            "database": {"type": "str"},
            "host": {"type": "str"},
            "port": {"type": "int"},
            "kms_key_id": {"type": "str"},
            "description": {"type": "str"},
            "tags": {"type": "dict", "default": {}},
            "password_length": {"type": "int", "default": 40, "no_log": False},
            "recovery_window_in_days": {"type": "int", "default": 30},
        },
        required_if=[("state", "present", ["username", "database", "host", "port"])],
        supports_check_mode=True,
    )
    params = module.params
    # The collection's one retry policy (module_utils/_aws.py: botocore standard retries inside the client).
    manager = CredentialsManager(module_client(module, "secretsmanager"), check_mode=module.check_mode)
    try:
        if params["state"] == "present":
            outcome = manager.ensure(
                CredentialSpec(
                    name=params["name"],
                    username=params["username"],
                    database=params["database"],
                    host=params["host"],
                    port=params["port"],
                    kms_key_id=params["kms_key_id"],
                    description=params["description"],
                    tags=params["tags"],
                    password_length=params["password_length"],
                ),
                rotate=params["rotate"],
            )
        elif params["state"] == "promoted":
            outcome = manager.promote(params["name"])
        else:
            outcome = manager.delete(params["name"], params["recovery_window_in_days"])
    except CredentialsError as exc:
        fail_json_aws_from(module, exc)
    module.exit_json(**outcome.as_result())


if __name__ == "__main__":
    main()
