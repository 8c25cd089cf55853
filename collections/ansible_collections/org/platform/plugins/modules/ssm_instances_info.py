#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSM readiness of EC2 instances (DescribeInstanceInformation), with their EC2 state and Name tag."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_instances_info
short_description: Say which EC2 instances are Online in SSM, with their state and Name tag
description:
  - Reads C(DescribeInstanceInformation) for all the given instances at once (one call per 50 instances,
    through the paginator) and C(DescribeInstances) for their state and C(Name) tag.
  - Each instance gets a verdict, C(online) (running and C(Online)), C(waiting) (pending, running but not yet
    C(Online), stopping or stopped) or C(gone) (no such instance, shutting down or terminated, so it never will be).
  - With O(transfer_bucket) it first checks that the aws_ssm transfer bucket exists (C(HeadBucket)) and fails
    naming it if not.
  - Changes nothing. Meant to be polled with C(until), from the controller (the role C(org.platform.ssm_nodes)
    does).
version_added: 0.2.0
author: Platform team (@org-platform)
options:
  instance_ids:
    description:
      - The instances to look at (C(i-...) ids). Empty is refused (an inventory that matched no instance).
    type: list
    elements: str
    required: true
  transfer_bucket:
    description:
      - The aws_ssm transfer bucket (C(ansible_aws_ssm_bucket_name)); checked to exist when given.
    type: str
attributes:
  check_mode:
    support: full
    description: Read only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
notes:
  - Fails, naming the problem, on an empty list, an id that is not an instance id, a missing transfer bucket or
    an AWS error. Instances that are not Online are not a failure here; the caller decides.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Wait until every node is Online in SSM
  org.platform.ssm_instances_info:
    instance_ids: "{{ ansible_play_hosts_all }}"
    transfer_bucket: org-prod-ssm-transfer
  register: ssm_info
  until: ssm_info.all_online or ssm_info.gone | length > 0
  retries: 60
  delay: 5
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
instances:
  description: One entry per instance asked about (sorted by id, duplicates removed).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
      returned: always
      sample: i-0123456789abcdef0
    name:
      description: Its C(Name) tag; empty when it has none or does not exist.
      type: str
      returned: always
      sample: sandbox-bastion
    state:
      description: Its EC2 state, or C(not-found).
      type: str
      returned: always
      sample: running
    ping_status:
      description: Its SSM C(PingStatus) (C(Online), C(ConnectionLost), C(Inactive)), or C(NotRegistered).
      type: str
      returned: always
      sample: Online
    last_ping:
      description: When its agent last reported (ISO 8601); empty when it never did.
      type: str
      returned: always
      sample: "2026-12-02T08:30:00+00:00"
    private_ip:
      description: Its private IP address; empty when unknown.
      type: str
      returned: always
      sample: 10.61.10.4
    verdict:
      description: C(online), C(waiting) (may still come up) or C(gone) (never will).
      type: str
      returned: always
      sample: online
    label:
      description: "How reports name it: C(<id> (<Name>): <state>, SSM <PingStatus>)."
      type: str
      returned: always
      sample: "i-0123456789abcdef0 (sandbox-bastion): running, SSM ConnectionLost"
online:
  description: Ids of the instances that are running and C(Online).
  returned: always
  type: list
  elements: str
  sample: [i-0123456789abcdef0]
not_online:
  description: Ids of the instances that are not (yet) Online, C(gone) ones included.
  returned: always
  type: list
  elements: str
  sample: [i-0fedcba9876543210]
gone:
  description: Ids of the instances that do not exist, or are shutting down or terminated.
  returned: always
  type: list
  elements: str
  sample: []
all_online:
  description: Whether every instance is running and C(Online).
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import BotoCoreError, ClientError, module_client
from ansible_collections.org.platform.plugins.module_utils.ssm_instances import (
    SsmInstancesError,
    check_bucket,
    describe,
    validate_instance_ids,
)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "instance_ids": {"type": "list", "elements": "str", "required": True},
            "transfer_bucket": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_instance_ids(params["instance_ids"])
        if params["transfer_bucket"]:
            check_bucket(module_client(module, "s3"), params["transfer_bucket"])
        result = describe(module_client(module, "ec2"), module_client(module, "ssm"), params["instance_ids"])
    except SsmInstancesError as error:
        module.fail_json(msg=str(error))
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg="SSM/EC2 look-up failed")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
