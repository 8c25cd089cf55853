# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack runner against the real Terraform engine and an S3 backend with DynamoDB locking on the emulator.

The graph is a diamond (a -> b, c -> d) of built-in-resource stacks from fixtures/diamond.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_list
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

from sandbox.pytest_plugin import create_state_backend

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=65)]

FIXTURES = Path(__file__).parent / "fixtures" / "diamond"
BUCKET = "org-terraform-state-123456789012"
TABLE = "terraform-state-lock"
SECRET = "s3cr3t-Pa55word-never-logged"

DIAMOND = [
    {"name": "a"},
    {"name": "b", "depends_on": ["a"], "inputs": {"from_a": "a.name"}},
    {"name": "c", "depends_on": ["a"], "inputs": {"from_a": "a.name"}},
    {"name": "d", "depends_on": ["b", "c"], "inputs": {"subnets": "b.subnets", "from_c": "c.name"}},
]


@pytest.fixture
def backend(aws) -> BackendConfig:
    key_arn = create_state_backend(BUCKET, TABLE, kms=True)
    return BackendConfig(
        bucket=BUCKET, region=aws.region, dynamodb_table=TABLE, kms_key_id=key_arn, endpoint_url=aws.aws_endpoint_url
    )


class Recorder:
    """Collects the runner's progress events with their times."""

    def __init__(self):
        self.events: list[tuple[float, str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, stack: str, level: str, message: str) -> None:
        with self._lock:
            self.events.append((time.monotonic(), stack, level, message))

    def first(self, stack: str, prefix: str) -> float:
        return next(t for t, s, _, m in self.events if s == stack and m.startswith(prefix))

    def last(self, stack: str) -> float:
        return max(t for t, s, _, _ in self.events if s == stack)

    def messages(self, stack: str) -> list[str]:
        return [m for _, s, _, m in self.events if s == stack]


def make_runner(tmp_path, backend, recorder=None, fail_c=False, seed="one", **kwargs) -> StackRunner:
    values = {
        "a": {"seed": seed, "db_password": SECRET},
        "b": {"zones": ["az1", "az2"]},
        "c": {"fail": fail_c},
    }
    return StackRunner(
        graph=graph_from_list(DIAMOND, FIXTURES),
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
        environment="test",
        backend=backend,
        work_dir=tmp_path / "work",
        stack_values=values,
        lock_timeout="2s",
        on_event=recorder,
        **kwargs,
    )


def state_keys() -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_apply_order_outputs_rerun_and_reverse_destroy(tmp_path, backend):
    recorder = Recorder()
    runner = make_runner(tmp_path, backend, recorder)
    report = runner.run("present")

    assert report.failed == [], report.summary()
    assert report.order[0] == "a"
    assert report.order[-1] == "d"
    assert all(report.results[n].changed for n in "abcd")
    # d started only after b and c were done; b and c only after a.
    assert recorder.first("d", "planning") > max(recorder.last("b"), recorder.last("c"))
    assert min(recorder.first("b", "planning"), recorder.first("c", "planning")) > recorder.last("a")
    # Outputs flowed a -> b, c -> d, typed (a map and a string).
    assert report.results["d"].outputs["summary"] == "c(a-one) uses a-one/b-az1,a-one/b-az2"
    assert report.results["b"].outputs["subnets"] == {"az1": "a-one/b-az1", "az2": "a-one/b-az2"}
    assert state_keys() == [f"test/{n}/terraform.tfstate" for n in "abcd"]
    # The state objects are encrypted with the state KMS key.
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key="test/a/terraform.tfstate")
    assert head.get("ServerSideEncryption") == "aws:kms"

    rerun = make_runner(tmp_path, backend).run("present")
    assert [rerun.results[n].changed for n in "abcd"] == [False] * 4
    assert not rerun.changed
    # No re-init and one plan per stack: the outputs come from the state inside each saved plan, the same values.
    assert rerun.terraform_calls == 4
    assert {n: rerun.results[n].outputs for n in "abcd"} == {n: report.results[n].outputs for n in "abcd"}

    destroy_recorder = Recorder()
    destroyed = make_runner(tmp_path, backend, destroy_recorder).run("absent")
    assert destroyed.failed == [], destroyed.summary()
    assert destroyed.order[0] == "d"
    assert destroyed.order[-1] == "a"
    assert destroy_recorder.first("a", "planning destroy") > max(destroy_recorder.last("b"), destroy_recorder.last("c"))
    assert destroy_recorder.first("b", "planning destroy") > destroy_recorder.last("d")
    assert destroyed.results["d"].counts == {"delete": 1}


def test_check_mode_plans_only_and_changes_nothing(tmp_path, backend):
    report = make_runner(tmp_path, backend).run("planned")
    assert report.failed == [], report.summary()
    # Nothing exists yet. b and c plan against a's *planned* outputs (known at plan time); c's own
    # output is unknown until apply, so d cannot be planned and says why instead of guessing
    # ("deferred": not an error, so the check-mode task stays green).
    assert [report.results[n].status for n in "abcd"] == ["planned", "planned", "planned", "deferred"]
    assert report.ok, report.failure_message()
    assert all(report.results[n].changed for n in "abc")
    assert report.results["b"].resources == {"create": ["terraform_data.b"]}
    assert report.results["c"].counts == {"create": 1}
    assert report.results["d"].error == "input c.name is unknown until c is applied"
    assert state_keys() == [], "check mode must not write any state"

    make_runner(tmp_path, backend).run("present")
    before = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    changed_seed = make_runner(tmp_path, backend, seed="two").run("planned")
    assert changed_seed.results["a"].counts == {"update": 1}
    # The new seed reaches b and c through a's planned outputs, and d through theirs where known.
    assert changed_seed.results["b"].counts == {"update": 1}
    assert changed_seed.results["c"].counts == {"update": 1}
    assert changed_seed.changed
    after = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    assert before == after, "a plan must not write state"
    assert len(before) == 4


def test_failure_stops_only_dependents_and_rerun_resumes(tmp_path, backend):
    report = make_runner(tmp_path, backend, fail_c=True).run("present")
    assert report.results["c"].status == "failed"
    assert "Stack c was told to fail" in report.results["c"].error
    assert report.results["d"].status == "skipped"
    assert "c did not complete" in report.results["d"].error
    assert report.results["a"].status == "changed"
    assert report.results["b"].status == "changed", "b is independent of c and must finish"
    assert state_keys() == ["test/a/terraform.tfstate", "test/b/terraform.tfstate"]

    resumed = make_runner(tmp_path, backend).run("present")
    assert resumed.failed == []
    assert [resumed.results[n].status for n in "abcd"] == ["ok", "ok", "changed", "changed"]


def test_lock_held_by_another_process_names_the_owner(tmp_path, backend):
    make_runner(tmp_path, backend).run("present", only=["a"])
    lock_id = "5f3c8a52-1111-2222-3333-444455556666"
    info = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "alice@build-host-7",
        "Version": "1.15.5",
        "Created": "2026-11-22T01:02:03.000000Z",
        "Path": f"{BUCKET}/test/a/terraform.tfstate",
    }
    table = boto3.client("dynamodb")
    table.put_item(
        TableName=TABLE,
        Item={"LockID": {"S": f"{BUCKET}/test/a/terraform.tfstate"}, "Info": {"S": json.dumps(info)}},
    )
    report = make_runner(tmp_path, backend, seed="changed").run("present", only=["a"])
    result = report.results["a"]
    assert result.status == "failed"
    assert result.lock["Who"] == "alice@build-host-7"
    assert result.lock["ID"] == lock_id
    assert "alice@build-host-7" in result.error
    assert "not force-unlocking" in result.error
    # The lock is still there: we never force-unlock.
    item = table.get_item(TableName=TABLE, Key={"LockID": {"S": f"{BUCKET}/test/a/terraform.tfstate"}})
    assert json.loads(item["Item"]["Info"]["S"])["ID"] == lock_id


def test_sensitive_outputs_never_in_results_or_logs(tmp_path, backend):
    runner = make_runner(tmp_path, backend)
    report = runner.run("present")
    assert report.results["a"].outputs["db_password"] == "(sensitive value)"
    assert SECRET not in json.dumps([r.as_dict() for r in report.results.values()])
    logs = list((tmp_path / "logs").glob("*.log"))
    assert logs, "every Terraform command writes a log"
    for log in logs:
        assert SECRET not in log.read_text(), f"secret leaked into {log}"
    # Plans and variable files (which carry the secret) are gone after the run.
    assert not list((tmp_path / "work").rglob("plan.tfplan"))
    assert not list((tmp_path / "work").rglob("inputs.tfvars.json"))
    names = {log.name.split("_", 1)[1] for log in logs}
    assert "a_init_test.log" in names
    assert "d_apply_test.log" in names


def test_only_reads_unselected_upstreams(tmp_path, backend):
    make_runner(tmp_path, backend).run("present")
    report = make_runner(tmp_path, backend, seed="other").run("present", only=["d"])
    assert report.order == ["d"]
    assert report.results["d"].status == "ok", "a changed seed is not applied to a when only d is selected"


def test_destroy_only_takes_dependents_along(tmp_path, backend):
    make_runner(tmp_path, backend).run("present")
    report = make_runner(tmp_path, backend).run("absent", only=["b"])
    assert report.order == ["d", "b"]
    assert state_keys() == [f"test/{n}/terraform.tfstate" for n in "abcd"]  # states remain, emptied
    with pytest.raises(StackRunnerError, match="excluded dependent"):
        make_runner(tmp_path, backend).run("absent", only=["b"], exclude=["d"])
    # Destroying a then takes b, c and d along. b and d are empty already: one `state list` each, no destroy
    # plan; c still holds its resource and is destroyed as usual.
    recorder = Recorder()
    again = make_runner(tmp_path, backend, recorder).run("absent", only=["a"])
    assert again.failed == [], again.summary()
    assert sorted(again.order[:3]) == ["b", "c", "d"]
    assert again.order[-1] == "a"
    for empty in "bd":
        logs = [Path(f).name for f in again.results[empty].log_files]
        assert [name for name in logs if "_state-list_" in name], logs
        assert not [name for name in logs if "plan" in name], logs
        assert again.results[empty].counts == {}
        assert not again.results[empty].changed
    assert again.results["c"].counts == {"delete": 1}
    assert again.results["a"].counts == {"delete": 1}
    assert any("nothing to destroy: its state holds no resources (state list)" in e for e in recorder.messages("b"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"zz": {"x": 1}}, "unknown stack 'zz'"),
        ({"a": {"seed": "x"}}, "required variable"),
    ],
)
def test_bad_variables_are_rejected_before_anything_runs(tmp_path, backend, values, message):
    # Inline stacks have no contract, so only unknown stacks are caught up front; contract stacks are
    # checked fully in the unit tests. A contract-less stack's missing variable fails in its plan.
    if message == "required variable":
        report = StackRunner(
            graph=graph_from_list(DIAMOND[:1], FIXTURES),
            engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
            environment="test",
            backend=backend,
            work_dir=tmp_path / "work",
            stack_values=values,
        ).run("present")
        assert report.results["a"].status == "failed"
        assert "db_password" in report.results["a"].error
        assert state_keys() == []
        return
    with pytest.raises(StackRunnerError, match=message):
        StackRunner(
            graph=graph_from_list(DIAMOND, FIXTURES),
            engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
            environment="test",
            backend=backend,
            work_dir=tmp_path / "work",
            stack_values=values,
        )
    assert state_keys() == []


def test_read_returns_outputs_and_state_ids_and_changes_nothing(tmp_path, backend):
    applied = make_runner(tmp_path, backend).run("present")
    before = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    report = make_runner(tmp_path, backend).run("read")
    assert report.failed == [], report.summary()
    assert not report.changed
    assert report.results["d"].outputs == applied.results["d"].outputs
    assert report.results["a"].outputs["db_password"] == "(sensitive value)"
    # terraform_data ids are UUIDs: one per stack, all in the protect list.
    assert all(len(report.results[n].state_ids) == 1 for n in "abcd")
    assert len({report.results[n].state_ids[0] for n in "abcd"}) == 4
    after = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    assert before == after
    shown = list((tmp_path / "logs").glob("*_show-state_test.log"))
    assert shown, "read runs show -json and logs it"
    for log in shown:
        assert SECRET not in log.read_text()


# ------------------------------------------------------------------------------- issue 18: never green by mistake

EDGE = Path(__file__).parent / "fixtures" / "edge"


def edge_runner(tmp_path, backend, stacks, values, **kwargs) -> StackRunner:
    return StackRunner(
        graph=graph_from_list(stacks, EDGE),
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
        environment="test",
        backend=backend,
        work_dir=tmp_path / "work",
        stack_values=values,
        lock_timeout=kwargs.pop("lock_timeout", "2s"),
        **kwargs,
    )


def test_an_output_missing_after_apply_fails_the_dependent(tmp_path, backend):
    stacks = [
        {"name": "optional"},
        {"name": "consumer", "depends_on": ["optional"], "inputs": {"value": "optional.maybe"}},
    ]
    report = edge_runner(tmp_path, backend, stacks, {}).run("present")
    assert report.results["optional"].status == "changed"
    consumer = report.results["consumer"]
    assert consumer.status == "failed", consumer
    assert "input optional.maybe: stack optional has no output 'maybe' in its state" in consumer.error
    assert not report.ok
    assert report.failure_message().startswith("stack(s) failed: consumer (input optional.maybe")
    assert state_keys() == ["test/optional/terraform.tfstate"]

    fixed = edge_runner(tmp_path, backend, stacks, {"optional": {"emit": True}}).run("present")
    assert fixed.ok, fixed.failure_message()
    assert [fixed.results[n].status for n in ("optional", "consumer")] == ["changed", "changed"]


def test_a_stack_stopped_by_an_unreadable_upstream_fails_the_run_naming_the_root_cause(tmp_path, backend):
    stacks = [{"name": "broken"}, {"name": "consumer", "depends_on": ["broken"], "inputs": {"value": "broken.name"}}]
    report = edge_runner(tmp_path, backend, stacks, {}).run("present", only=["consumer"])
    assert report.results["consumer"].status == "skipped"
    assert report.results["consumer"].blocked_by == "broken"
    assert "broken" in report.read_failures
    assert not report.ok
    message = report.failure_message()
    assert message.startswith("stack(s) failed: reading broken's outputs failed (init failed")
    assert message.endswith("not run because of that: consumer (by broken)")


def test_check_mode_destroy_plans_destroy_with_dependents_and_changes_nothing(tmp_path, backend):
    make_runner(tmp_path, backend).run("present")
    before = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    report = make_runner(tmp_path, backend, diff=True).run("absent", only=["b"], check=True)
    assert report.ok, report.failure_message()
    assert report.order == ["d", "b"], "a destroy of b takes its dependent d"
    for name in ("d", "b"):
        result = report.results[name]
        assert (result.action, result.status, result.changed) == ("plan-destroy", "planned", True)
        assert result.counts == {"delete": 1}
        assert result.resources == {"delete": [f"terraform_data.{name}"]}
        assert result.resource_changes == [{"address": f"terraform_data.{name}", "action": "delete"}]
    assert report.changed
    after = {k: boto3.client("s3").head_object(Bucket=BUCKET, Key=k)["ETag"] for k in state_keys()}
    assert before == after, "check mode must not write state"
    assert make_runner(tmp_path, backend).run("present").changed is False, "nothing was destroyed"


def test_work_dir_is_owner_only_and_holds_no_plan_after_the_run(tmp_path, backend):
    stale = tmp_path / "work" / "test" / "a" / "plan.tfplan"
    stale.parent.mkdir(parents=True)
    stale.write_text("left by a run that died")
    report = make_runner(tmp_path, backend, diff=True).run("present")
    assert report.ok, report.failure_message()
    assert report.results["a"].resource_changes == [{"address": "terraform_data.a", "action": "create"}]
    offenders = []
    for path in [tmp_path / "work", *(tmp_path / "work").rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            offenders.append(f"{path.relative_to(tmp_path)} {oct(mode)}")
    assert offenders == [], offenders
    assert not list((tmp_path / "work").rglob("*.tfplan"))
    assert not list(FIXTURES.rglob("*.tfstate")), "state never lands in a stack's source directory"


def test_diff_lists_updated_attributes_and_masks_sensitive_values(tmp_path, backend):
    make_runner(tmp_path, backend).run("present", only=["a"])
    report = make_runner(tmp_path, backend, diff=True, seed="two").run("planned", only=["a"])
    change = report.results["a"].resource_changes
    assert change[0]["address"] == "terraform_data.a"
    assert change[0]["action"] == "update"
    assert "input" in change[0]["changed_attributes"]
    assert change[0]["before"]["input"] == "one"
    assert change[0]["after"]["input"] == "two"
    assert SECRET not in json.dumps(change)


# --------------------------------------------------------------- issue 18 item 8: killed and interrupted runs

RUNNER_SCRIPT = """
import json, sys
sys.path[:0] = json.loads(sys.argv[2])
from pathlib import Path
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_list
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine
spec = json.loads(sys.argv[1])
runner = StackRunner(
    graph=graph_from_list([{"name": "slow"}], spec["root"]),
    engine=TerraformEngine(log_dir=spec["logs"], environment="test"),
    environment="test",
    backend=BackendConfig(**spec["backend"]),
    work_dir=spec["work"],
    stack_values={"slow": {"seed": "one", "sleep_s": spec["sleep_s"], "marker": spec["marker"]}},
    lock_timeout="1s",
)
report = runner.run("present")
print("RESULT=" + json.dumps({"ok": report.ok, "interrupted": report.interrupted,
      "status": report.results["slow"].status, "message": report.failure_message()}))
"""


def start_runner(tmp_path, backend, sleep_s):
    import subprocess
    import sys

    marker = tmp_path / "marker.txt"
    spec = {
        "root": str(EDGE),
        "logs": str(tmp_path / "logs"),
        "work": str(tmp_path / "work"),
        "backend": {k: v for k, v in vars(backend).items()},
        "sleep_s": sleep_s,
        "marker": str(marker),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER_SCRIPT, json.dumps(spec), json.dumps(sys.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as ansible-playbook at a terminal
    )
    deadline = time.monotonic() + 120
    while not (marker.exists() and "start" in marker.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow apply never started"
        time.sleep(0.2)
    return proc, marker


def lock_item():
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"LockID": {"S": f"{BUCKET}/test/slow/terraform.tfstate"}}
    )
    return json.loads(item["Item"]["Info"]["S"]) if "Item" in item and "Info" in item["Item"] else None


def descendants(pid: int) -> list[int]:
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, frontier = [], [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def slow_runner(tmp_path, backend, **values) -> StackRunner:
    return edge_runner(
        tmp_path,
        backend,
        [{"name": "slow"}],
        {"slow": {"seed": "one", "sleep_s": 0, "marker": str(tmp_path / "marker.txt")} | values},
        lock_timeout="1s",
    )


def test_a_killed_apply_leaves_its_lock_and_the_message_names_the_way_out(tmp_path, backend):
    import os
    import signal

    from ansible_collections.org.platform.plugins.module_utils._terraform.backend import local_identity

    proc, _ = start_runner(tmp_path, backend, sleep_s=60)
    victims = [proc.pid, *descendants(proc.pid)]
    deadline = time.monotonic() + 30
    while lock_item() is None:
        assert time.monotonic() < deadline, "apply never took the lock"
        time.sleep(0.2)
    for pid in victims:  # kill -9 the run and the Terraform it started: nothing can release the lock
        os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in victims):
        assert time.monotonic() < deadline, [pid for pid in victims if alive(pid)]
        time.sleep(0.1)
    held = lock_item()
    assert held is not None, "a killed apply leaves its lock (we never force-unlock on our own)"

    rerun = slow_runner(tmp_path, backend).run("present")
    result = rerun.results["slow"]
    assert result.status == "failed"
    assert result.lock["ID"] == held["ID"]
    assert f"locked by this user and host ({local_identity()})" in result.error
    assert f"-e terraform_unlock_stack=slow -e terraform_unlock_id={held['ID']}" in result.error
    assert lock_item()["ID"] == held["ID"]

    wrong = slow_runner(tmp_path, backend).force_unlock("slow", "00000000-0000-0000-0000-000000000000")
    assert wrong.status == "failed"
    assert lock_item()["ID"] == held["ID"], "a wrong lock ID releases nothing"

    released = slow_runner(tmp_path, backend).force_unlock("slow", held["ID"])
    assert released.status == "changed", released.error
    assert lock_item() is None
    assert any(log.endswith("_slow_force-unlock_test.log") for log in released.log_files)

    resumed = slow_runner(tmp_path, backend).run("present")
    assert resumed.ok, resumed.failure_message()
    assert resumed.results["slow"].status == "changed"
    state = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key="test/slow/terraform.tfstate")["Body"].read())
    assert [r["type"] + "." + r["name"] for r in state["resources"]] == ["terraform_data.slow"]
    assert len(state["resources"][0]["instances"]) == 1
    assert slow_runner(tmp_path, backend).run("present").changed is False, "nothing duplicated: a rerun is a no-op"


@pytest.mark.parametrize("half", ["dynamodb", "lock file"])
def test_force_unlock_releases_a_lock_held_in_only_one_of_its_two_stores(tmp_path, backend, half):
    """Both locks are configured (use_lockfile beside the table). A lock in only one of them (a DynamoDB-only
    Terraform's, or a run killed between taking the two) stops a run and is released by force_unlock, ID checked;
    Terraform itself refuses that release because the other half is missing."""
    lock_id = "5f3c8a52-1111-2222-3333-444455556666"
    key = f"{BUCKET}/test/slow/terraform.tfstate"
    lock_file = "test/slow/terraform.tfstate.tflock"
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "me@here", "Path": key, "Version": "1.15.5"}
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    if half == "dynamodb":
        dynamodb.put_item(TableName=TABLE, Item={"LockID": {"S": key}, "Info": {"S": json.dumps(info)}})
    else:
        s3.put_object(Bucket=BUCKET, Key=lock_file, Body=json.dumps(info).encode())

    def held() -> bool:
        in_table = "Item" in dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": key}})
        return in_table or lock_file in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    locked = slow_runner(tmp_path, backend).run("present")
    assert locked.results["slow"].status == "failed"
    assert locked.results["slow"].lock["ID"] == lock_id
    assert held(), "a run that meets the lock leaves it alone"
    wrong = slow_runner(tmp_path, backend).force_unlock("slow", "00000000-0000-0000-0000-000000000000")
    assert wrong.status == "failed"
    assert held(), "a wrong lock ID releases nothing"
    released = slow_runner(tmp_path, backend).force_unlock("slow", lock_id)
    assert released.status == "changed", released.error
    assert not held()
    resumed = slow_runner(tmp_path, backend).run("present")
    assert resumed.ok, resumed.failure_message()


def test_sigint_lets_the_running_terraform_finish_and_release_its_lock(tmp_path, backend):
    import os
    import signal

    proc, marker = start_runner(tmp_path, backend, sleep_s=4)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C at the terminal: the whole foreground group
    stdout, _stderr = proc.communicate(timeout=120)
    payload = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT="))[7:])
    assert marker.read_text().split() == ["start", "done"], "the running command was let finish"
    assert payload["interrupted"] is True
    assert payload["ok"] is False
    assert "interrupted (SIGINT)" in payload["message"]
    assert lock_item() is None, "Terraform released its lock"
    state = json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key="test/slow/terraform.tfstate")["Body"].read())
    assert len(state["resources"]) == 1, "the apply that was running completed and saved its state"
    assert slow_runner(tmp_path, backend).run("present").changed is False


def test_planning_defers_a_chain_whose_inputs_are_known_only_after_apply(tmp_path, backend):
    stacks = [
        {"name": "slow"},
        {"name": "relay", "depends_on": ["slow"], "inputs": {"value": "slow.name"}},
        {"name": "consumer", "depends_on": ["relay"], "inputs": {"value": "relay.name"}},
    ]
    values = {"slow": {"seed": "one", "marker": str(tmp_path / "marker.txt")}}
    report = edge_runner(tmp_path, backend, stacks, values).run("planned")
    assert [report.results[n].status for n in ("slow", "relay", "consumer")] == ["planned", "deferred", "deferred"]
    assert report.results["consumer"].error == "input relay.name is unknown until relay is applied"
    assert report.ok, report.failure_message()
    assert state_keys() == []
