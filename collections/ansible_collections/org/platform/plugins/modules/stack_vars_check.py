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

from ansible_collections.org.platform.plugins.module_utils.stack_vars import MODULE


def main() -> None:
    """Run where the action plugin is not used; the same result (module_utils/pure_module.py)."""
    MODULE.main()


if __name__ == "__main__":
    main()
