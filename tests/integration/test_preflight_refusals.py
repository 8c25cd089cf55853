# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9: every mistake fails before anything changes (site.yml, destroy.yml, playbooks/golden_ami.yml,
playbooks/shared_rds.yml and the state backend), against the sandbox's AWS emulator.

Every refusal is checked twice: its message names the problem, and the emulator holds nothing afterwards
(no bucket, table, KMS key, image, SSM parameter or secret). Runs against inventories/dev and prod happen only
inside the `aws` fixture, which points every AWS SDK call at the emulator (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import re

import boto3
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=125)]

SANDBOX = "inventories/sandbox"
RECAP_RE = re.compile(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
SANDBOX_TAGS = {
    "Environment": "sandbox",
    "Service": "platform",
    "Team": "platform",
    "Owner": "platform-team@example.com",
    "CostCenter": "platform-sandbox",
    "ManagedBy": "terraform",
}


def estate(region: str) -> dict[str, list]:
    """Everything a play could have created in the emulator's region."""
    return {
        "buckets": [b["Name"] for b in boto3.client("s3", region_name=region).list_buckets()["Buckets"]],
        "tables": boto3.client("dynamodb", region_name=region).list_tables()["TableNames"],
        "kms_keys": [k["KeyId"] for k in boto3.client("kms", region_name=region).list_keys()["Keys"]],
        "images": [
            i["ImageId"] for i in boto3.client("ec2", region_name=region).describe_images(Owners=["self"])["Images"]
        ],
        "parameters": [p["Name"] for p in boto3.client("ssm", region_name=region).describe_parameters()["Parameters"]],
        "secrets": [s["Name"] for s in boto3.client("secretsmanager", region_name=region).list_secrets()["SecretList"]],
    }


EMPTY = {"buckets": [], "tables": [], "kms_keys": [], "images": [], "parameters": [], "secrets": []}


def changed(run) -> int:
    match = RECAP_RE.search(run.stdout)
    assert match, run.output[-3000:]
    return int(match.group(2))


@pytest.fixture
def sandbox_env(aws):
    return {"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)}


# Item 3: the preflight validates every later play's inputs before the state backend or the golden AMI.
BAD_SITE_INPUTS = [
    pytest.param(
        {
            "terraform_stack_vars": {
                "00-network": {"vpc_cidr": "10.9.0.0/33", "azs": ["us-east-1a", "us-east-1b"], "nat_mode": "single"},
                "50-rke2": {"cluster_name": "sandbox-platform", "server_count": 1, "agent_count": 1},
            }
        },
        "vpc_cidr",
        id="stack-vars-vpc-cidr",
    ),
    pytest.param(
        {"platform_tags": {k: v for k, v in SANDBOX_TAGS.items() if k != "Owner"}},
        "platform_tags lacks Owner",
        id="tags-without-owner",
    ),
    pytest.param({"golden_ami_root_volume_size": -5}, "root_volume_size must be 8 to 16384", id="golden-ami-volume"),
    pytest.param(
        {"shared_rds_services": [{"name": "Bad-Name"}]}, "invalid shared RDS service list", id="rds-service-name"
    ),
    pytest.param(
        {"shared_rds_schemas_charset": "utf8mb4 COMMENT 'x' -- "}, "shared_rds_schemas_charset", id="rds-charset"
    ),
    pytest.param({"state_backend_org": "org\n"}, 'org "org\\n" must be', id="backend-org-newline"),
]


@pytest.mark.parametrize(("extra_vars", "message"), BAD_SITE_INPUTS)
def test_site_refuses_bad_input_before_any_change(aws, playbook, sandbox_env, extra_vars, message):
    run = playbook("site.yml", inventory=SANDBOX, env=sandbox_env, extra_vars=extra_vars)
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert "PLAY [Ensure the Terraform state backend]" not in run.stdout
    assert estate(aws.region) == EMPTY


def test_tags_missing_a_key_do_not_retag_the_backend(aws, playbook, sandbox_env):
    built = playbook("playbooks/state_backend.yml", inventory=SANDBOX, env=sandbox_env)
    assert built.rc == 0, built.output[-3000:]
    bucket = "org-terraform-state-123456789012"
    s3 = boto3.client("s3")
    before = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    tags = {k: v for k, v in SANDBOX_TAGS.items() if k != "Owner"} | {"CostCenter": "someone-else"}
    run = playbook("site.yml", inventory=SANDBOX, env=sandbox_env, extra_vars={"platform_tags": tags})
    assert run.rc != 0
    assert "platform_tags lacks Owner" in run.output
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == before


# Item 4: every entry playbook that can change AWS checks the account first.
@pytest.mark.parametrize("entry", ["playbooks/golden_ami.yml", "playbooks/shared_rds.yml", "site.yml"])
def test_entry_playbooks_refuse_another_account(aws, playbook, sandbox_env, entry):
    run = playbook(entry, inventory=SANDBOX, env=sandbox_env, extra_vars={"platform_account_id": "111111111111"})
    assert run.rc != 0
    assert "The credentials belong to account 123456789012" in run.output, run.output[-3000:]
    assert "sandbox is account 111111111111" in run.output
    assert estate(aws.region) == EMPTY


# Item 5: a real environment without a (well-formed) account id is an error that says how to set it.
@pytest.mark.parametrize("account_id", ["", "12345", "123456789012\n", "abcdefghijkl"])
def test_real_environment_needs_an_account_id(aws, playbook, account_id):
    run = playbook(
        "site.yml",
        inventory="inventories/dev",
        # No Packer is run whatever happens: the golden AMI role would stop at its packer check.
        extra_vars={"golden_ami_packer_bin": "/nonexistent/packer"},
        env={"PLATFORM_ACCOUNT_ID": account_id},
    )
    assert run.rc != 0
    assert "export PLATFORM_ACCOUNT_ID=<the 12-digit id of the dev account>" in run.output, run.output[-3000:]
    assert estate("ap-northeast-2") == EMPTY


# Item 6: the environment is the inventory's; -e cannot talk the destroy guard (or any play) round.
@pytest.mark.parametrize(
    ("entry", "inventory", "extra_vars", "message"),
    [
        (
            "destroy.yml",
            "inventories/prod",
            {"platform_env": "dev", "confirm_destroy": "dev"},
            "-e confirm_destroy=dev",
        ),
        ("destroy.yml", "inventories/prod", {"confirm_destroy": "dev", "allow_prod_destroy": True}, "Rerun with"),
        ("destroy.yml", SANDBOX, {"platform_env": "dev", "confirm_destroy": "sandbox"}, "cannot be overridden"),
        ("site.yml", SANDBOX, {"platform_env": "dev"}, "cannot be overridden"),
        ("site.yml", "inventories/dev", {"platform_sandbox": True}, "cannot be overridden"),
        # AWX's job variables count only in an AWX job (JOB_ID in the environment): here they change nothing.
        (
            "destroy.yml",
            "inventories/prod",
            {"confirm_destroy": "dev", "awx_job_id": 5, "awx_inventory_name": "platform-dev"},
            "-e confirm_destroy=prod",
        ),
    ],
)
def test_environment_cannot_be_overridden(aws, playbook, sandbox_env, entry, inventory, extra_vars, message):
    run = playbook(
        entry, inventory=inventory, env=sandbox_env | {"PLATFORM_ACCOUNT_ID": "123456789012"}, extra_vars=extra_vars
    )
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert "nothing was changed" in run.output.lower()
    assert estate(aws.region) == EMPTY
    assert estate("ap-northeast-2") == EMPTY


# Issue 16: in an AWX job the environment is the AWX inventory's (platform-<env>), and still not -e's.
@pytest.mark.parametrize(
    ("job_env", "extra_vars", "message"),
    [
        # The AWX inventory is platform-dev while the inventory's variables say sandbox: refused.
        ({"JOB_ID": "5"}, {"awx_job_id": 5, "awx_inventory_name": "platform-dev"}, "cannot be overridden"),
        # awx_job_id that is not the job's own: the AWX variables do not count, the inventory file's name does.
        (
            {"JOB_ID": "5"},
            {"awx_job_id": 6, "awx_inventory_name": "platform-sandbox"},
            "Unknown or missing environment",
        ),
        # Not an inventory of ours and no AWX job: refused.
        ({}, {"awx_job_id": 5, "awx_inventory_name": "platform-sandbox"}, "Unknown or missing environment"),
    ],
)
def test_an_awx_job_environment_is_the_awx_inventory(
    aws, playbook, sandbox_env, tmp_path, job_env, extra_vars, message
):
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "  vars:\n    platform_env: sandbox\n    platform_sandbox: true\n"
    )
    run = playbook("site.yml", inventory=inventory, env=sandbox_env | job_env, extra_vars=extra_vars)
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert estate(aws.region) == EMPTY


# Item 7: golden AMI inputs are checked against what AWS accepts.
@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"golden_ami_root_volume_size": -5}, "root_volume_size must be 8 to 16384"),
        ({"golden_ami_ssm_parameter_prefix": "no/leading/slash"}, "must be an SSM parameter path"),
        ({"golden_ami_ssm_parameter_prefix": "/trailing/"}, "must be an SSM parameter path"),
        ({"golden_ami_ssm_parameter_prefix": "/aws/reserved"}, "not under /aws or /ssm"),
        ({"golden_ami_subnet_id": "subnet-xyz"}, "is not a subnet id"),
        ({"golden_ami_kms_key_id": "not a key"}, "is not a KMS key id"),
        ({"golden_ami_keep": 0}, "keep must be at least 1"),
        # Issue 10 item 6: the role takes the repository's packer dir as an input, never climbs role_path.
        ({"golden_ami_packer_dir": "/nonexistent"}, "golden_ami_packer_dir must name the directory that holds"),
        ({"golden_ami_log_dir": ""}, "golden_ami_log_dir is required"),
    ],
)
def test_golden_ami_inputs_are_validated(aws, playbook, sandbox_env, extra_vars, message):
    run = playbook("playbooks/golden_ami.yml", inventory=SANDBOX, env=sandbox_env, extra_vars=extra_vars)
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert estate(aws.region) == EMPTY


# Item 8: names are full matches; a trailing newline is refused, nothing named with it is created.
def test_state_backend_refuses_a_name_with_a_newline(aws, playbook, sandbox_env):
    run = playbook(
        "playbooks/state_backend.yml",
        inventory=SANDBOX,
        env=sandbox_env,
        extra_vars={"state_backend_lock_table": "terraform-state-lock\n"},
    )
    assert run.rc != 0
    assert "is not a DynamoDB table name" in run.output, run.output[-3000:]
    assert estate(aws.region) == EMPTY


# Item 11: destroy.yml's read-only look-up of the backend never reports changed, even when tags differ.
def test_read_only_backend_check_reports_no_change(aws, playbook, sandbox_env):
    built = playbook("playbooks/state_backend.yml", inventory=SANDBOX, env=sandbox_env)
    assert built.rc == 0, built.output[-3000:]
    assert changed(built) > 0
    before = estate(aws.region)
    retagged = SANDBOX_TAGS | {"CostCenter": "another-cost-center"}
    looked_up = playbook(
        "playbooks/state_backend.yml",
        inventory=SANDBOX,
        env=sandbox_env,
        extra_vars={"state_backend_read_only": True, "platform_tags": retagged},
    )
    assert looked_up.rc == 0, looked_up.output[-3000:]
    assert changed(looked_up) == 0, looked_up.stdout[-3000:]
    assert estate(aws.region) == before
    # Check mode (not read-only) still predicts the tag change.
    predicted = playbook(
        "playbooks/state_backend.yml",
        inventory=SANDBOX,
        env=sandbox_env,
        check=True,
        extra_vars={"platform_tags": retagged},
    )
    assert predicted.rc == 0, predicted.output[-3000:]
    assert changed(predicted) > 0


def test_node_readiness_fails_when_a_needed_group_found_no_instance(aws, playbook, sandbox_env):
    # The emulator has no instance, so the aws_ec2 inventory is empty: a play on the bastion would be skipped
    # ("no hosts matched"); playbooks/nodes_ready.yml must fail instead, naming the group.
    run = playbook(
        "playbooks/nodes_ready.yml",
        inventory=SANDBOX,
        env=sandbox_env,
        extra_vars={"platform_node_groups": ["bastion"]},
    )
    assert run.rc != 0, run.output[-3000:]
    assert "has no instance in bastion" in run.output, run.output[-3000:]
    assert "PLAY [Nodes - wait until every node answers over SSM]" not in run.stdout
