#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate an environment's Terraform stack variables against the stack contract before Terraform runs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: stack_vars_check
short_description: Validate per-environment Terraform stack variables before Terraform runs
version_added: 0.1.0
description:
  - Renders, for every stack in the contract (C(terraform/stacks.yml)), the variable set the stack runner
    will pass to Terraform (common variables, inventory values, contract defaults; not the variables wired
    from upstream outputs) and checks it.
  - Fails with every problem listed when a variable is unknown, missing or of the wrong type, when the VPC
    CIDR is invalid, overlaps another environment's VPC or yields overlapping tiers, when fewer than two
    availability zones are given, when the NAT mode is unknown, or when prod has fewer than three RKE2
    servers.
  - Reads files only; changes nothing. Check mode behaves the same.
options:
  contract_path:
    description: Path of the stack contract (C(terraform/stacks.yml)).
    type: path
    required: true
  environment:
    description: Environment name (C(platform_env)).
    type: str
    required: true
  aws_region:
    description: AWS region (C(platform_region)).
    type: str
    required: true
  tags:
    description: Required tags (C(platform_tags)).
    type: dict
    required: true
  stack_vars:
    description: The inventory's C(terraform_stack_vars), keyed by stack name (and optionally C(common)).
    type: dict
    required: true
  inventories_dir:
    description:
      - Directory holding C(<env>/group_vars/all/stacks.yml) of every environment; their VPC CIDRs are checked
        for overlap with this environment's.
    type: path
  peer_vpc_cidrs:
    description: VPC CIDRs of other environments by name, in addition to those found in O(inventories_dir).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Reads files only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
author:
  - Platform team (@org-platform)
"""

EXAMPLES = r"""
- name: Validate the stack variables of this environment
  org.platform.stack_vars_check:
    contract_path: "{{ playbook_dir }}/../terraform/stacks.yml"
    environment: "{{ platform_env }}"
    aws_region: "{{ platform_region }}"
    tags: "{{ platform_tags }}"
    stack_vars: "{{ terraform_stack_vars }}"
    inventories_dir: "{{ playbook_dir }}/../inventories"
  register: stack_vars_check
"""

RETURN = r"""
stacks:
  description: The variable set per stack (without the variables wired from upstream outputs).
  returned: success
  type: dict
  sample:
    00-network:
      environment: dev
      aws_region: ap-northeast-2
      vpc_cidr: 10.0.0.0/16
      azs: [ap-northeast-2a, ap-northeast-2c]
      nat_mode: single
peer_vpc_cidrs:
  description: VPC CIDRs of the environments compared for overlap.
  returned: success
  type: dict
  sample: {stg: 10.1.0.0/16, prod: 10.2.0.0/16}
problems:
  description: Every problem found, one message each (C(msg) joins them).
  returned: failure
  type: list
  elements: str
  sample:
    - "dev: 00-network.azs lists 1 availability zone(s); at least 2 are required"
    - "dev: 00-network.nat_mode 'gateway' is unknown; use one of none, single, per_az"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils.stack_graph import StackGraphError, load_contract
from ansible_collections.org.platform.plugins.module_utils.stack_vars import (
    StackVarsError,
    load_peer_vpc_cidrs,
    validate,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "contract_path": {"type": "path", "required": True},
            "environment": {"type": "str", "required": True},
            "aws_region": {"type": "str", "required": True},
            "tags": {"type": "dict", "required": True},
            "stack_vars": {"type": "dict", "required": True},
            "inventories_dir": {"type": "path"},
            "peer_vpc_cidrs": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        contract = load_contract(params["contract_path"])
        peers = load_peer_vpc_cidrs(params["inventories_dir"]) if params["inventories_dir"] else {}
        peers.update(params["peer_vpc_cidrs"])
        peers.pop(params["environment"], None)
        stacks = validate(
            contract,
            params["environment"],
            params["aws_region"],
            params["tags"],
            params["stack_vars"],
            peer_vpc_cidrs=peers,
        )
    except (StackVarsError, StackGraphError, OSError) as error:
        module.fail_json(msg=str(error), problems=getattr(error, "problems", [str(error)]))
    module.exit_json(changed=False, stacks=stacks, peer_vpc_cidrs=peers)


if __name__ == "__main__":
    main()
