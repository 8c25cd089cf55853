#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run `packer build` for the golden AMI, its output logged by the collection's log rule."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: golden_ami_build
short_description: Run packer build for the golden AMI, with its log written by the collection's log rule
description:
  - Writes the Packer variables to a C(.pkrvars.json) file and runs C(packer build -color=false) on O(template).
  - Everything Packer prints, its output and its debug log (C(PACKER_LOG=1), on stderr), goes line by line to
    C(<log_dir>/<UTC %Y%m%dT%H%M%SZ>-<run id>_golden-ami-<arch>_<environment>.log). The file is created
    exclusively with mode C(0600) in a C(0700) directory. Each line is stamped in ISO 8601 UTC with
    milliseconds, and every value of a secret-named environment variable (C(AWS_SECRET_ACCESS_KEY),
    C(AWS_SESSION_TOKEN), ...) and every known secret shape is masked. The variables file sits beside it
    as C(<same name>.pkrvars.json) (C(0600)).
  - AWS credentials come from the controller's environment, never from module arguments.
  - The golden AMI decision and the re-read after the build are M(org.platform.golden_ami)'s; this module only
    builds.
version_added: 0.3.0
author: Platform team (@org-platform)
options:
  template:
    description: The Packer template (C(golden.pkr.hcl)).
    type: path
    required: true
  variables:
    description: The Packer variables (region, arch, build hash, versions, network, tags, ...).
    type: dict
    default: {}
  log_dir:
    description: Directory of the Packer logs (the project's playbooks pass C(<repository>/logs/packer)).
    type: path
    required: true
  environment:
    description: Environment name; part of the log file name. Lower-case letters, digits and C(-).
    type: str
    required: true
  arch:
    description: Image architecture; part of the log file name.
    type: str
    choices: [x86_64, arm64]
    default: x86_64
  region:
    description: AWS region Packer builds in (C(AWS_REGION) of the Packer process).
    type: str
    required: true
  packer_bin:
    description: The Packer executable.
    type: str
    default: packer
  timeout:
    description: Seconds before the build (its whole process group) is stopped. C(0) means no limit.
    type: int
    default: 5400
attributes:
  check_mode:
    support: full
    description: In check mode nothing is built or written; the result says a build would run.
  diff_mode:
    support: none
    description: Nothing to diff.
notes:
  - Fails, naming the log file, when Packer exits non-zero or the timeout passes.
"""

EXAMPLES = r"""
- name: Build the golden AMI
  org.platform.golden_ami_build:
    template: "{{ playbook_dir }}/../packer/golden.pkr.hcl"
    variables:
      region: eu-west-1
      arch: x86_64
      build_hash: "{{ decision.build_hash }}"
    log_dir: "{{ playbook_dir }}/../logs/packer"
    environment: prod
    region: eu-west-1
  register: build
"""

RETURN = r"""
rc:
  description: Packer's exit code (C(-9) when the timeout stopped it; not set in check mode).
  returned: success or failure
  type: int
  sample: 0
log_file:
  description: The log file (empty in check mode).
  returned: always
  type: str
  sample: /srv/platform/logs/packer/20261202T070229Z-3fa9c1_golden-ami-x86_64_prod.log
var_file:
  description: The Packer variables file beside the log (empty in check mode).
  returned: always
  type: str
  sample: /srv/platform/logs/packer/20261202T070229Z-3fa9c1_golden-ami-x86_64_prod.pkrvars.json
artifact_ids:
  description: "The AMI ids Packer reported, from its C(<region>: ami-...) lines after C(AMIs were created)."
  returned: always
  type: list
  elements: str
  sample: [ami-0123456789abcdef0]
tail:
  description: The last 20 lines Packer printed, as logged (secrets masked, without the stamps).
  returned: always
  type: list
  elements: str
  sample: ["==> Builds finished. The artifacts of successful builds are:"]
timed_out:
  description: Whether the timeout stopped the build.
  returned: always
  type: bool
  sample: false
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils.constants import environment_name_problem
from ansible_collections.org.platform.plugins.module_utils.golden_ami import (
    ARCHITECTURES,
    GoldenAmiError,
    run_packer_build,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "template": {"type": "path", "required": True},
            "variables": {"type": "dict", "default": {}},
            "log_dir": {"type": "path", "required": True},
            "environment": {"type": "str", "required": True},
            "arch": {"type": "str", "choices": list(ARCHITECTURES), "default": "x86_64"},
            "region": {"type": "str", "required": True},
            "packer_bin": {"type": "str", "default": "packer"},
            "timeout": {"type": "int", "default": 5400},
        },
        supports_check_mode=True,
    )
    params = module.params
    problem = environment_name_problem(params["environment"])
    if problem:
        module.fail_json(msg=problem)
    if params["timeout"] < 0:
        module.fail_json(msg=f"timeout must be 0 (no limit) or positive, not {params['timeout']}")
    empty = {"log_file": "", "var_file": "", "artifact_ids": [], "tail": [], "timed_out": False}
    if module.check_mode:
        module.exit_json(changed=True, **empty)
    # The controller's environment carries the credentials chain; only the region is set here.
    env = {**os.environ, "AWS_REGION": params["region"]}
    try:
        run = run_packer_build(
            params["packer_bin"],
            params["template"],
            params["variables"],
            params["log_dir"],
            params["environment"],
            params["arch"],
            env=env,
            timeout_s=params["timeout"] or None,
        )
    except GoldenAmiError as error:
        module.fail_json(msg=str(error), **empty)
    result = run.as_result()
    if run.timed_out:
        module.fail_json(msg=f"packer build stopped after {params['timeout']}s; log: {run.log_file}", **result)
    if run.rc != 0:
        module.fail_json(msg=f"packer build failed (rc {run.rc}); log: {run.log_file}", **result)
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
