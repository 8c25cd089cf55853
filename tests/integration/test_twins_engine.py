# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The committed JSON twins (terraform/sandbox) through the stack runner and the bundled engine, S3 backend.

init, plan and apply every twin in contract order against the emulator's state bucket and lock table,
then a rerun that changes nothing, then destroy: the generated main.tf.json files are real Terraform.
"""

from __future__ import annotations

import boto3
import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

from sandbox.pytest_plugin import create_state_backend
from sandbox.services import REPO_ROOT

pytestmark = pytest.mark.integration

BUCKET = "org-terraform-state-twins"
TABLE = "terraform-state-lock"
TWINS = REPO_ROOT / "terraform" / "sandbox"


def make_runner(tmp_path, backend: BackendConfig) -> StackRunner:
    graph = graph_from_contract(yaml.safe_load((REPO_ROOT / "terraform" / "stacks.yml").read_text()), TWINS)
    inventory = REPO_ROOT / "inventories" / "sandbox" / "group_vars" / "all"
    main = yaml.safe_load((inventory / "main.yml").read_text())
    per_stack = yaml.safe_load((inventory / "stacks.yml").read_text())["terraform_stack_vars"]
    common = {"environment": "twins", "aws_region": main["platform_region"], "tags": main["platform_tags"]}
    values = {
        name: {key: value for key, value in common.items() if key in graph[name].variables} | per_stack.get(name, {})
        for name in graph.order()
    }
    return StackRunner(
        graph=graph,
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="twins"),
        environment="twins",
        backend=backend,
        work_dir=tmp_path / "work",
        stack_values=values,
        lock_timeout="10s",
    )


def test_the_json_twins_init_plan_apply_rerun_and_destroy(tmp_path, aws):
    backend = BackendConfig(
        bucket=BUCKET,
        region=aws.region,
        dynamodb_table=TABLE,
        kms_key_id=create_state_backend(BUCKET, TABLE, kms=True),
        endpoint_url=aws.aws_endpoint_url,
    )
    applied = make_runner(tmp_path, backend).run("present")
    print(applied.summary())
    assert applied.failed == [], applied.failure_message()
    assert set(applied.order) == {path.name for path in TWINS.iterdir() if path.is_dir()}
    assert all(result.changed and result.simulated for result in applied.results.values()), applied.summary()
    assert applied.results["00-network"].outputs["vpc_id"]
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    assert sorted(o["Key"] for o in listing["Contents"]) == sorted(
        f"twins/{n}/terraform.tfstate" for n in applied.order
    )

    rerun = make_runner(tmp_path, backend).run("present")
    assert rerun.failed == [], rerun.failure_message()
    assert not rerun.changed, rerun.summary()

    destroyed = make_runner(tmp_path, backend).run("absent")
    assert destroyed.failed == [], destroyed.failure_message()
    assert all(result.changed for result in destroyed.results.values()), destroyed.summary()
