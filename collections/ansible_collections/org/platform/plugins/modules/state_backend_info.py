#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only check that the Terraform state backend is as org.platform.state_backend converges it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: state_backend_info
short_description: Say whether the Terraform state backend is exactly as the state_backend role would converge it
description:
  - In one module run, reads the caller's account and every property the role C(org.platform.state_backend)
    sets with its maintained modules (C(amazon.aws.kms_key), C(amazon.aws.s3_bucket),
    C(community.aws.s3_lifecycle), C(community.aws.dynamodb_table)), and lists each difference.
  - The KMS key C(alias/<kms_alias>) enabled, with rotation, the role's description and the tags.
  - The state bucket with versioning, default SSE-KMS with that key and a bucket key, every public access block
    setting, C(BucketOwnerEnforced), the tags and the lifecycle rule C(expire-noncurrent-state-versions).
  - The transfer bucket (when given) the same, but with versioning off, the tag C(Purpose=ssm-transfer) and the
    rule C(expire-ssm-transfers).
  - The lock table active, keyed by the string C(LockID), on-demand billing, with the tags.
  - Tags are compared as the role's tasks set them (never purged), so extra tags are not a difference.
  - The role skips its converge tasks when O(ignore:in_place) is true. A difference only means the maintained
    modules run, so the check errs towards reporting one.
  - Changes nothing.
version_added: 0.5.0
author: Platform team (@org-platform)
options:
  org:
    description:
      - Organisation prefix of the default bucket name C({org}-terraform-state-{account-id}).
    type: str
    required: true
  bucket:
    description:
      - The state bucket; empty means C({org}-terraform-state-{account-id}).
    type: str
    default: ""
  kms_alias:
    description:
      - The state key's alias, without C(alias/).
    type: str
    required: true
  lock_table:
    description:
      - The DynamoDB lock table.
    type: str
    required: true
  noncurrent_version_days:
    description:
      - Days after which a superseded state version expires (the state bucket's lifecycle rule).
    type: int
    required: true
  transfer_bucket:
    description:
      - The aws_ssm transfer bucket; empty means none is checked.
    type: str
    default: ""
  transfer_expiry_days:
    description:
      - Days after which an object in the transfer bucket expires.
    type: int
    default: 1
  tags:
    description:
      - Tags the key, buckets and table must carry (with these values).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Read only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
notes:
  - Fails on an AWS error other than the one that says a resource does not exist.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Look the state backend up
  org.platform.state_backend_info:
    org: acme
    kms_alias: terraform-state-key
    lock_table: terraform-state-lock
    noncurrent_version_days: 90
    transfer_bucket: acme-dev-ssm-transfer
    tags:
      Environment: dev
  register: backend

- name: Converge only what differs
  ansible.builtin.debug:
    msg: "{{ backend.differences }}"
  when: not backend.in_place
"""

RETURN = r"""
account:
  description: The account the credentials belong to.
  returned: always
  type: str
  sample: "123456789012"
arn:
  description: The caller's ARN.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:user/platform
bucket:
  description: The state bucket's name.
  returned: always
  type: str
  sample: acme-terraform-state-123456789012
kms_key_arn:
  description: The ARN of the key behind the alias; empty when there is none.
  returned: always
  type: str
  sample: arn:aws:kms:eu-central-1:123456789012:key/0b5e6f3a-9c1d-4e2f-8a7b-6c5d4e3f2a1b
exists:
  description: Whether each part exists (C(kms_key), C(bucket), C(lock_table), and C(transfer_bucket) when given).
  returned: always
  type: dict
  sample: {kms_key: true, bucket: true, lock_table: false}
differences:
  description: Each way the backend differs from the role's converge, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["bucket acme-terraform-state-123456789012: versioning is Suspended, not Enabled"]
in_place:
  description: True when there is no difference.
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import BotoCoreError, ClientError, module_client
from ansible_collections.org.platform.plugins.module_utils.state_backend import inspect


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "org": {"type": "str", "required": True},
            "bucket": {"type": "str", "default": ""},
            "kms_alias": {"type": "str", "required": True},
            "lock_table": {"type": "str", "required": True},
            "noncurrent_version_days": {"type": "int", "required": True},
            "transfer_bucket": {"type": "str", "default": ""},
            "transfer_expiry_days": {"type": "int", "default": 1},
            "tags": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    try:
        clients = {service: module_client(module, service) for service in ("sts", "kms", "s3", "dynamodb")}
        result = inspect(clients, module.params)
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg="state backend look-up failed")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
