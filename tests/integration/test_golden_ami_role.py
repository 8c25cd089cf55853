# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/golden_ami.yml (role org.platform.golden_ami) in the sandbox: check mode, SIMULATED build, rerun."""

from __future__ import annotations

import re

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils.golden_ami import GoldenAmiManager, compute_build_hash

from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=70)]

PLAYBOOK = "playbooks/golden_ami.yml"
INVENTORY = "inventories/sandbox"
PARAMETER = "/shared/ami/golden/x86_64"
# The role's defaults (roles/golden_ami/defaults/main.yml, vars/main.yml) as they enter the build hash.
DEFAULT_VERSIONS = {"awscli_version": "2.22.35", "bake_rke2": "false", "rke2_version": ""}


@pytest.fixture
def clients(aws):
    ec2 = boto3.client("ec2", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
    ssm = boto3.client("ssm", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
    return ec2, ssm


def run(playbook, aws, *, check: bool = False, extra_vars: dict | None = None):
    return playbook(
        PLAYBOOK,
        inventory=INVENTORY,
        check=check,
        extra_vars=extra_vars,
        env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
    )


def recap_changed(output: str) -> int:
    match = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, output
    return int(match.group(1))


def golden_ids(ec2) -> set[str]:
    return {
        image["ImageId"]
        for image in ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:Role", "Values": ["golden"]}])[
            "Images"
        ]
    }


def parameter(ssm) -> str | None:
    try:
        return ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def test_check_build_rerun_and_rebuild_on_hash_change(aws, clients, playbook) -> None:
    ec2, ssm = clients
    source = GoldenAmiManager(ec2, "x86_64").newest_source()
    assert source is not None

    # Check mode on an empty account: the decision is reported, nothing is built or published.
    check = run(playbook, aws, check=True)
    assert check.rc == 0, check.output
    assert "BUILD REQUIRED (none_found)" in check.output
    assert "check mode: nothing is built" in check.output
    assert "SIMULATED build" not in check.output
    assert golden_ids(ec2) == set()
    assert parameter(ssm) is None

    # First run: the build is SIMULATED, a real image id from the emulator is published.
    first = run(playbook, aws)
    assert first.rc == 0, first.output
    assert "SIMULATED: packer build skipped" in first.output
    assert "SIMULATED build" in first.output
    (ami,) = golden_ids(ec2)
    image = ec2.describe_images(ImageIds=[ami])["Images"][0]
    tags = {tag["Key"]: tag["Value"] for tag in image["Tags"]}
    assert tags["BuildHash"] == compute_build_hash(REPO_ROOT / "packer", DEFAULT_VERSIONS)
    assert tags["SourceAmi"] == source.image_id
    assert (tags["Role"], tags["OS"], tags["Arch"], image["Architecture"]) == ("golden", "al2023", "x86_64", "x86_64")
    assert tags["Environment"] == "sandbox"
    assert ec2.describe_image_attribute(ImageId=ami, Attribute="imdsSupport")["ImdsSupport"]["Value"] == "v2.0"
    assert parameter(ssm) == ami

    # Rerun with nothing changed: no build, nothing changed.
    again = run(playbook, aws)
    assert again.rc == 0, again.output
    assert recap_changed(again.output) == 0, again.output
    assert "no build (found)" in again.output
    assert "SIMULATED build" not in again.output
    assert golden_ids(ec2) == {ami}

    check_again = run(playbook, aws, check=True)
    assert check_again.rc == 0, check_again.output
    assert recap_changed(check_again.output) == 0, check_again.output
    assert f"found: {ami}" in check_again.output

    # A pinned version changes the build hash: a new image is built and published; keep-N still keeps both.
    bumped = run(playbook, aws, extra_vars={"golden_ami_awscli_version": "2.22.36"})
    assert bumped.rc == 0, bumped.output
    assert "BUILD REQUIRED (hash_changed)" in bumped.output
    (new_ami,) = golden_ids(ec2) - {ami}
    assert parameter(ssm) == new_ami
    assert golden_ids(ec2) == {ami, new_ami}

    # keep=1 deregisters the older image, never the one in use.
    pruned = run(playbook, aws, extra_vars={"golden_ami_awscli_version": "2.22.36", "golden_ami_keep": 1})
    assert pruned.rc == 0, pruned.output
    assert f"Deregistered ['{ami}']" in pruned.output
    assert golden_ids(ec2) == {new_ami}


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"golden_ami_arch": "sparc"}, "value of golden_ami_arch must be one of: x86_64, arm64, got: sparc"),
        ({"golden_ami_max_age_days": -1}, "max_age_days must be 0 (no limit) or positive, not -1"),
        ({"golden_ami_region": ""}, "region is required (golden_ami_region / platform_region is empty)"),
    ],
    ids=["unknown-arch", "negative-age", "missing-region"],
)
def test_bad_input_fails_clearly_and_builds_nothing(aws, clients, playbook, extra_vars, message) -> None:
    ec2, ssm = clients
    result = run(playbook, aws, extra_vars=extra_vars)
    assert result.rc != 0
    assert message in result.output
    assert "SIMULATED build" not in result.output
    assert golden_ids(ec2) == set()
    assert parameter(ssm) is None
