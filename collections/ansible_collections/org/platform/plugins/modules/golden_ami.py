#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the current golden AMI or say why it must be built."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: golden_ami
short_description: Find the current golden AMI, or decide that it must be built
description:
  - Looks for the newest C(available) golden AMI (owner C(self), tags C(Role=golden), C(OS=al2023), the
    architecture) and decides whether Packer must build a new one.
  - A build is required when no golden AMI is available (C(none_found)), none carries the current build hash
    (C(hash_changed)), the one that does was built from an AL2023 base image that is no longer the newest
    (C(source_superseded)), or it is older than O(max_age_days) (C(too_old)). Otherwise the reason is C(found).
  - Images that are not C(available) (pending, failed, ...) are never picked. Ties are broken by CreationDate.
  - The decision itself changes nothing. With O(deregister_old=true) the module also deregisters all but the
    newest O(keep) available golden AMIs of the architecture (never the one it returns) and deletes their
    snapshots, but only when no build is required (the build comes first; the caller cleans up after it).
    With O(require_imdsv2=true) it marks the AMI it returns C(ImdsSupport=v2.0) if it is not yet.
    These are the only changes it makes; C(changed) reflects them.
version_added: 0.1.0
author: Platform team (@org-platform)
options:
  arch:
    description: Image architecture.
    type: str
    choices: [x86_64, arm64]
    default: x86_64
  build_hash:
    description:
      - The hash of the build inputs, as the C(BuildHash) tag carries it.
      - Give this, or O(packer_dir) to have it computed.
    type: str
  packer_dir:
    description:
      - Directory holding C(golden.pkr.hcl) and C(scripts/); the build hash is computed from their bytes and
        O(build_versions) (sha256, stable order).
    type: path
  build_versions:
    description: Pinned versions that go into the build (e.g. AWS CLI, RKE2); part of the build hash.
    type: dict
    default: {}
  max_age_days:
    description: A golden AMI older than this many days is rebuilt. C(0) means no age limit.
    type: int
    default: 30
  source_owner:
    description: Owner of the official base images.
    type: str
    default: amazon
  source_name_pattern:
    description: Name filter of the official base images; C({arch}) is replaced by O(arch).
    type: str
    default: al2023-ami-2023.*-kernel-6.*-{arch}
  require_imdsv2:
    description:
      - Mark the AMI the module returns (only when no build is required) C(ImdsSupport=v2.0), so instances
        launched from it require IMDSv2 tokens. Packer 1.6.6 cannot set it at build time. AWS never unsets it.
    type: bool
    default: true
  ssm_parameter:
    description:
      - An SSM parameter that should hold the returned AMI id (the role publishes it with
        C(community.aws.ssm_parameter)); RV(ssm_parameter_in_place) says whether it already does.
    type: str
  ssm_parameter_description:
    description: The description O(ssm_parameter) should have.
    type: str
    default: ""
  ssm_parameter_tags:
    description: The tags O(ssm_parameter) should have, exactly.
    type: dict
    default: {}
  deregister_old:
    description:
      - Deregister all but the newest O(keep) available golden AMIs (and delete their snapshots).
      - Only when the decision requires no build, so the newest image is never one about to be superseded.
    type: bool
    default: false
  keep:
    description: How many available golden AMIs O(deregister_old) keeps.
    type: int
    default: 3
attributes:
  check_mode:
    support: full
    description:
      - The decision is made the same way; nothing is deregistered and C(ImdsSupport) is not set.
      - C(deregistered) and C(imdsv2_set) say what a real run would do, and C(changed) predicts it.
  diff_mode:
    support: none
    description: No diff is returned; C(deregistered) and C(imdsv2_set) report the only two changes it makes.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Decide whether the golden AMI must be built
  org.platform.golden_ami:
    region: ap-northeast-2
    arch: x86_64
    packer_dir: "{{ playbook_dir }}/../packer"
    build_versions:
      awscli_version: 2.17.0
    max_age_days: 30
  register: golden

- name: Keep only the three newest golden AMIs
  org.platform.golden_ami:
    region: ap-northeast-2
    build_hash: "{{ golden.build_hash }}"
    deregister_old: true
    keep: 3
"""

RETURN = r"""
ami_id:
  description: The golden AMI to use now; empty when none is available. When a build is required this is the
    best existing image (or empty), not the one to be built.
  returned: always
  type: str
  sample: ami-0123456789abcdef0
build_required:
  description: Whether Packer must build a new golden AMI.
  returned: always
  type: bool
  sample: false
reason:
  description: Human-readable reason for the decision.
  returned: always
  type: str
  sample: "found: ami-0123456789abcdef0 (golden-al2023-x86_64-1716200000) is current"
reason_code:
  description: One of C(none_found), C(hash_changed), C(source_superseded), C(too_old), C(found).
  returned: always
  type: str
  sample: found
build_hash:
  description: The build hash the decision used (computed when O(packer_dir) was given).
  returned: always
  type: str
  sample: 3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d
source_ami_id:
  description: The newest official base image (what a build would start from); empty when none matched.
  returned: always
  type: str
  sample: ami-0fedcba9876543210
candidate:
  description: The golden AMI the decision looked at; C(null) when no golden AMI is available.
  returned: always
  type: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
      returned: always
      sample: ami-0123456789abcdef0
    name:
      description: The AMI name.
      type: str
      returned: always
      sample: golden-al2023-x86_64-1716200000
    state:
      description: The AMI state (C(available), C(pending), C(failed), ...).
      type: str
      returned: always
      sample: available
    creation_date:
      description: Its C(CreationDate), ISO 8601 in UTC.
      type: str
      returned: always
      sample: "2026-12-01T10:00:00+00:00"
    architecture:
      description: Its architecture.
      type: str
      returned: always
      sample: x86_64
    build_hash:
      description: Its C(BuildHash) tag; empty when it has none.
      type: str
      returned: always
      sample: 3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d
    source_ami:
      description: Its C(SourceAmi) tag (the base image it was built from); empty when it has none.
      type: str
      returned: always
      sample: ami-0fedcba9876543210
ignored:
  description: Golden AMIs that are not available and were ignored, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
      returned: always
      sample: ami-0123456789abcdef0
    name:
      description: The AMI name.
      type: str
      returned: always
      sample: golden-al2023-x86_64-1716200000
    state:
      description: The AMI state (C(available), C(pending), C(failed), ...).
      type: str
      returned: always
      sample: available
    creation_date:
      description: Its C(CreationDate), ISO 8601 in UTC.
      type: str
      returned: always
      sample: "2026-12-01T10:00:00+00:00"
    architecture:
      description: Its architecture.
      type: str
      returned: always
      sample: x86_64
    build_hash:
      description: Its C(BuildHash) tag; empty when it has none.
      type: str
      returned: always
      sample: 3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d
    source_ami:
      description: Its C(SourceAmi) tag (the base image it was built from); empty when it has none.
      type: str
      returned: always
      sample: ami-0fedcba9876543210
imdsv2_set:
  description: Whether the returned AMI was (in check mode, would be) marked C(ImdsSupport=v2.0) by this run.
  returned: always
  type: bool
  sample: false
ssm_parameter_in_place:
  description:
    - Whether O(ssm_parameter) is already the C(String) holding the returned AMI id, with O(ssm_parameter_description)
      and exactly O(ssm_parameter_tags). Always false without O(ssm_parameter) or an AMI.
  returned: always
  type: bool
  sample: true
deregistered:
  description: Golden AMIs deregistered, their snapshots deleted (or, in check mode, that would be).
  returned: always
  type: list
  elements: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
      returned: always
      sample: ami-0123456789abcdef0
    name:
      description: The AMI name.
      type: str
      returned: always
      sample: golden-al2023-x86_64-1716200000
    state:
      description: The AMI state (C(available), C(pending), C(failed), ...).
      type: str
      returned: always
      sample: available
    creation_date:
      description: Its C(CreationDate), ISO 8601 in UTC.
      type: str
      returned: always
      sample: "2026-12-01T10:00:00+00:00"
    architecture:
      description: Its architecture.
      type: str
      returned: always
      sample: x86_64
    build_hash:
      description: Its C(BuildHash) tag; empty when it has none.
      type: str
      returned: always
      sample: 3f9a1c0e5b7d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d
    source_ami:
      description: Its C(SourceAmi) tag (the base image it was built from); empty when it has none.
      type: str
      returned: always
      sample: ami-0fedcba9876543210
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import fail_json_aws_from, module_client
from ansible_collections.org.platform.plugins.module_utils.golden_ami import (
    ARCHITECTURES,
    DEFAULT_SOURCE_NAME_PATTERN,
    DEFAULT_SOURCE_OWNER,
    GoldenAmiError,
    GoldenAmiManager,
    compute_build_hash,
    parameter_in_place,
    validate_inputs,
)


def main() -> None:
    argument_spec = {
        "arch": {"type": "str", "choices": list(ARCHITECTURES), "default": "x86_64"},
        "build_hash": {"type": "str"},
        "packer_dir": {"type": "path"},
        "build_versions": {"type": "dict", "default": {}},
        "max_age_days": {"type": "int", "default": 30},
        "source_owner": {"type": "str", "default": DEFAULT_SOURCE_OWNER},
        "source_name_pattern": {"type": "str", "default": DEFAULT_SOURCE_NAME_PATTERN},
        "require_imdsv2": {"type": "bool", "default": True},
        "deregister_old": {"type": "bool", "default": False},
        "keep": {"type": "int", "default": 3},
        "ssm_parameter": {"type": "str"},
        "ssm_parameter_description": {"type": "str", "default": ""},
        "ssm_parameter_tags": {"type": "dict", "default": {}},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("build_hash", "packer_dir")],
        required_one_of=[("build_hash", "packer_dir")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_inputs(params["arch"], params["max_age_days"], module.region)
        if params["deregister_old"] and params["keep"] < 1:
            raise GoldenAmiError(f"keep must be at least 1, not {params['keep']}")
        build_hash = params["build_hash"] or compute_build_hash(params["packer_dir"], params["build_versions"])
        manager = GoldenAmiManager(
            module_client(module, "ec2"),
            params["arch"],
            source_owner=params["source_owner"],
            source_name_pattern=params["source_name_pattern"],
        )
        decision = manager.decide(build_hash, params["max_age_days"])
        imdsv2_set = False
        if params["require_imdsv2"] and decision.ami_id and not decision.build_required:
            imdsv2_set = manager.require_imdsv2(decision.ami_id, check_mode=module.check_mode)
        deregistered = []
        if params["deregister_old"] and not decision.build_required:
            deregistered = manager.deregister_old(
                params["keep"], protect=[decision.ami_id] if decision.ami_id else [], check_mode=module.check_mode
            )
        in_place = bool(params["ssm_parameter"] and decision.ami_id) and parameter_in_place(
            module_client(module, "ssm"),
            params["ssm_parameter"],
            decision.ami_id,
            params["ssm_parameter_description"],
            params["ssm_parameter_tags"],
        )
    except GoldenAmiError as error:
        fail_json_aws_from(module, error)
    module.exit_json(
        ssm_parameter_in_place=in_place,
        changed=bool(deregistered) or imdsv2_set,
        deregistered=deregistered,
        imdsv2_set=imdsv2_set,
        **decision.as_result(),
    )


if __name__ == "__main__":
    main()
