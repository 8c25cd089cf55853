# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The org.platform.run_log callback through ansible-playbook: the record, the canaries, trouble, the upload."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from pathlib import Path

import boto3
import pytest

from sandbox.pytest_plugin import VENV_BIN, create_state_backend
from sandbox.services import REPO_ROOT

pytestmark = pytest.mark.integration

DIAMOND = Path(__file__).parent / "fixtures" / "diamond"
BUCKET = "run-log-test-state"
MASK = "********"
RKE2_TOKEN = "K10" + "c0ffee" * 10 + "abcd" + "::server:CANARY-rke2-78"

INVENTORY = """
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
  vars:
    platform_env: canary
    service_passwords: [CANARY-loop-named-70]
"""

CANARY_PLAY = """
- name: Seed canaries through every path
  hosts: localhost
  gather_facts: false
  vars:
    db_password: CANARY-var-pw-71
    param_value: CANARY-param-76
  tasks:
    - name: Pass a secret in a module argument
      ansible.builtin.command: echo {{ db_password }}
      changed_when: false

    - name: Keep a fact quietly
      ansible.builtin.set_fact:
        plain_fact: CANARY-setfact-72
      no_log: true

    - name: Show the fact
      ansible.builtin.debug:
        msg: "fact is {{ plain_fact }}"

    - name: Keep a document quietly
      ansible.builtin.set_fact:
        quiet_doc: {host: ordinary-host-name, password: CANARY-dictpw-80}
      no_log: true

    - name: Show the document
      ansible.builtin.debug:
        msg: "doc {{ quiet_doc.host }} {{ quiet_doc.password }}"

    - name: Read a secret into a registered result
      ansible.builtin.command: echo CANARY-registered-73
      changed_when: false
      no_log: true
      register: __out

    - name: Show the registered result
      ansible.builtin.debug:
        msg: "registered {{ __out.stdout }}"

    - name: Loop over a quiet item
      ansible.builtin.command: echo {{ item }}
      changed_when: false
      no_log: true
      loop: [CANARY-loop-74]
      register: __looped

    - name: Show the loop result
      ansible.builtin.debug:
        msg: "looped {{ __looped.results[0].stdout }}"

    - name: Loop over a secret-named list
      ansible.builtin.debug:
        msg: "item {{ item }}"
      loop: "{{ service_passwords }}"

    - name: Use an extra var
      ansible.builtin.debug:
        msg: "token is {{ admin_token }}"

    - name: Fail with a secret in the error message
      ansible.builtin.fail:
        msg: "login refused for {{ db_password }}"
      ignore_errors: true

    - name: Pass a secret to a no_log module parameter
      ansible.builtin.uri:
        url: http://127.0.0.1:9/
        url_username: someone
        url_password: "{{ param_value }}"
        timeout: 2
      ignore_errors: true

    - name: Show the parameter value again
      ansible.builtin.debug:
        msg: "param {{ param_value }}"

    - name: Print known secret shapes
      ansible.builtin.debug:
        msg: "mysql://admin:CANARY-url-77@db:3306/app {{ rke2_join }}"
      vars:
        rke2_join: "__RKE2__"

    - name: Apply a stack with a sensitive output
      org.platform.terraform_stacks:
        environment: canary
        stacks: [{name: a, path: "__DIAMOND__/a"}]
        variables: {a: {seed: s, db_password: CANARY-tfout-79}}
        backend: {bucket: __BUCKET__, region: __REGION__, endpoint_url: __ENDPOINT__}
        work_dir: "__WORK__"
        log_dir: "__LOGS__/terraform"
      register: __stacks

    - name: Show the stack outputs
      ansible.builtin.debug:
        msg: "outputs {{ __stacks.outputs | to_json }}"

    - name: Guard something
      ansible.builtin.assert:
        that: [true]
        quiet: true
"""


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return path


def _play(tmp_path: Path, body: str, name: str = "canary.yml", **subs: str) -> Path:
    for key, value in subs.items():
        body = body.replace(f"__{key}__", value)
    path = tmp_path / name
    path.write_text(body)
    return path


def _run_log_env(log_root: Path, **extra: str) -> dict:
    return {"ORG_PLATFORM_RUN_LOG_DIR": str(log_root / "global"), "ORG_PLATFORM_RUN_LOG_LEVEL": "tasks"} | extra


def _only_log(log_root: Path) -> Path:
    files = sorted((log_root / "global").glob("*.log"))
    assert len(files) == 1, files
    return files[0]


def test_canaries_never_reach_any_log_file(playbook, tmp_path, aws):
    create_state_backend(BUCKET)
    logs = tmp_path / "logs"
    play = _play(
        tmp_path,
        CANARY_PLAY,
        DIAMOND=str(DIAMOND),
        BUCKET=BUCKET,
        REGION=aws.region,
        ENDPOINT=aws.aws_endpoint_url,
        WORK=str(tmp_path / "work"),
        LOGS=str(logs),
        RKE2=RKE2_TOKEN,
    )
    run = playbook(
        play,
        inventory=_inventory(tmp_path),
        extra_vars={"admin_token": "CANARY-extra-75"},
        env=_run_log_env(logs),
    )
    assert run.rc == 0, run.output
    # the canaries really went through the play (the console is the default callback's business)
    for seen in ("CANARY-setfact-72", "CANARY-registered-73", "CANARY-loop-74", "CANARY-extra-75", "CANARY-url-77"):
        assert seen in run.stdout

    every_file = [p for p in logs.rglob("*") if p.is_file()]
    assert any(p.parent.name == "terraform" for p in every_file), every_file
    leaks = {str(p): p.read_text(errors="replace").count("CANARY") for p in every_file}
    assert {path: hits for path, hits in leaks.items() if hits} == {}

    text = _only_log(logs).read_text()
    assert "\x1b[" not in text
    for task, shown in [
        ("Show the fact", f"fact is {MASK}"),
        ("Show the registered result", f"registered {MASK}"),
        ("Show the document", f"doc ordinary-host-name {MASK}"),  # ordinary words stay readable
        ("Show the loop result", f"looped {MASK}"),
        ("Loop over a secret-named list", f"item={MASK}"),
        ("Use an extra var", f"token is {MASK}"),
        (
            "Fail with a secret in the error message",
            f"WARN localhost Fail with a secret in the error message failed (ignored): login refused for {MASK}",
        ),
        ("Show the parameter value again", f"param {MASK}"),
        ("Print known secret shapes", f"mysql://admin:{MASK}@db:3306/app {MASK}"),
    ]:
        line = next((line for line in text.splitlines() if f" {task} " in line and shown in line), None)
        assert line, f"no line for {task!r} showing {shown!r} in:\n{text}"
    assert '-e \'{"admin_token": "********"}\'' in text
    stack_line = next(line for line in text.splitlines() if " stack=a action=apply" in line)
    assert "result=changed" in stack_line
    assert "counts=create:1" in stack_line
    stack_log = Path(stack_line.split(" log=", 1)[1].split()[0])
    assert stack_log.is_file()
    assert stack_log.parent == logs / "terraform"
    assert "guard passed" in text


HEADER_PLAY = """
- name: Header and milestones
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say something
      ansible.builtin.debug:
        msg: hello
    - name: Skip something
      ansible.builtin.debug:
        msg: never
      when: false
    - name: Guard the run
      ansible.builtin.assert:
        that: [false]
        fail_msg: refused by the guard
"""


def test_header_levels_recap_and_console_path(playbook, tmp_path):
    logs = tmp_path / "logs"
    play = _play(tmp_path, HEADER_PLAY, "header.yml")
    run = playbook(
        play,
        inventory=_inventory(tmp_path),
        check=True,
        env=_run_log_env(logs, ORG_PLATFORM_RUN_LOG_LEVEL="milestones"),
    )
    assert run.rc == 2
    path = _only_log(logs)
    assert path.name.endswith("_header_canary.log")
    assert f"Run log: {path}" in run.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    header = {
        line[2:].split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("# ") and ":" in line
    }
    assert header["playbook"] == "header"
    assert header["environment"] == "canary"
    assert header["check_mode"].startswith("True")
    assert header["git"].split()[1] in ("(clean)", "(dirty)")
    assert header["collection"] == "org.platform 0.1.0"
    assert header["user"]
    assert header["host"]
    assert header["inventory"].endswith("hosts.yml")
    # milestones: no plain task lines, but play start/end, the guard, the recap and the outcome
    assert " Say something " not in text
    assert "PLAY [Header and milestones] start" in text
    assert "PLAY [Header and milestones] end" in text
    assert "ERR  localhost Guard the run guard refused: refused by the guard" in text
    assert "ERR  localhost RECAP ok=1 changed=0 unreachable=0 failures=1 skipped=1" in text
    assert "ERR  - OUTCOME failed duration=" in text


def _mount_tmpfs(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)


@contextlib.contextmanager
def _tmpfs(target: Path, options: str, fill: bool = False):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only or full tmpfs needs root (run the suite as root, as make test does here)")
    _mount_tmpfs(target, options)
    try:
        if fill:
            (target / "global").mkdir(mode=0o700)
            with contextlib.suppress(OSError), open(target / "filler", "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


@pytest.mark.parametrize(
    ("options", "fill", "reason"),
    [("ro,size=64k", False, "Read-only file system"), ("size=16k", True, "No space left")],
)
def test_unwritable_log_dir_is_one_warning_never_a_failure(playbook, tmp_path, options, fill, reason):
    play = _play(tmp_path, HEADER_PLAY.replace("[false]", "[true]"), "trouble.yml")
    with _tmpfs(tmp_path / "mnt", options, fill) as root:
        run = playbook(play, inventory=_inventory(tmp_path), env=_run_log_env(root))
    assert run.rc == 0, run.output
    warnings = [line for line in run.output.splitlines() if "org.platform.run_log" in line]
    assert len(warnings) == 1, run.output
    assert reason in warnings[0]
    assert "Run log:" not in run.stdout


LONG_PLAY = """
- name: Many results
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Count
      ansible.builtin.debug:
        msg: "__TAG__ {{ item }}"
      loop: "{{ range(150) | list }}"
"""


def test_two_concurrent_runs_write_two_intact_files(tmp_path):
    logs = tmp_path / "logs"
    env = (
        os.environ | {"ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"} | _run_log_env(logs)
    )
    inventory = _inventory(tmp_path)
    procs = []
    for tag in ("RUN-ONE", "RUN-TWO"):
        play = _play(tmp_path, LONG_PLAY, f"long_{tag.lower()}.yml", TAG=tag)
        argv = [str(VENV_BIN / "ansible-playbook"), str(play), "-i", str(inventory)]
        procs.append(
            subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    files = sorted((logs / "global").glob("*.log"))
    assert len(files) == 2, files
    for path in files:
        tag = "RUN-ONE" if "run-one" in path.name else "RUN-TWO"
        other = "RUN-TWO" if tag == "RUN-ONE" else "RUN-ONE"
        lines = path.read_text().splitlines()
        assert sum(f"ok: {tag} " in line for line in lines) == 150
        assert not any(other in line for line in lines)
        assert lines[-1].split()[3:5] == ["OUTCOME", "succeeded"]
        assert all(line.startswith(("# ", "20")) or line == "" for line in lines)


def test_retention_keeps_newest_runs_and_today(playbook, tmp_path):
    logs = tmp_path / "logs"
    old_dir = logs / "global"
    old_dir.mkdir(parents=True)
    old = [old_dir / f"2025010{day}T000000Z-00000{day}_site_canary.log" for day in range(1, 6)]
    for path in old:
        path.write_text("old run\n")
    foreign = old_dir / "notes.txt"
    foreign.write_text("not a run log")
    play = _play(tmp_path, HEADER_PLAY.replace("[false]", "[true]"), "keep.yml")
    for _attempt in range(2):
        run = playbook(play, inventory=_inventory(tmp_path), env=_run_log_env(logs, ORG_PLATFORM_RUN_LOG_RETENTION="3"))
        assert run.rc == 0, run.output
    remaining = sorted(p.name for p in old_dir.iterdir())
    # newest 3 runs: the two of today and 2025-01-05; today's files are never deleted; foreign files stay
    assert [p.name for p in old if p.name in remaining] == [old[4].name]
    assert "notes.txt" in remaining
    assert sum(name.endswith("_keep_canary.log") for name in remaining) == 2


def test_upload_to_s3_with_sse_kms_and_fail_soft(playbook, tmp_path, aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="run-log-archive")
    key_id = boto3.client("kms").create_key(Description="run logs")["KeyMetadata"]["KeyId"]
    logs = tmp_path / "logs"
    play = _play(tmp_path, HEADER_PLAY.replace("[false]", "[true]"), "up.yml")
    env = _run_log_env(logs, ORG_PLATFORM_RUN_LOG_UPLOAD_KMS_KEY_ID=key_id)
    run = playbook(
        play, inventory=_inventory(tmp_path), extra_vars={"run_log_upload": "s3://run-log-archive/runs/"}, env=env
    )
    assert run.rc == 0, run.output
    path = _only_log(logs)
    listed = s3.list_objects_v2(Bucket="run-log-archive")["Contents"]
    assert [obj["Key"] for obj in listed] == [f"runs/global/{path.name}"]
    head = s3.head_object(Bucket="run-log-archive", Key=f"runs/global/{path.name}")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)
    body = s3.get_object(Bucket="run-log-archive", Key=f"runs/global/{path.name}")["Body"].read().decode()
    assert "OUTCOME succeeded" in body
    assert "UPLOAD to s3://run-log-archive/runs/" in body
    assert "Run log uploaded to s3://run-log-archive/runs/ (1 file(s))" in run.stdout

    # a missing bucket: one warning, the play still succeeds, the local file says why
    missing = playbook(
        play,
        inventory=_inventory(tmp_path),
        extra_vars={"run_log_upload": "s3://no-such-bucket-here/x"},
        env=_run_log_env(tmp_path / "logs2"),
    )
    assert missing.rc == 0, missing.output
    warnings = [line for line in missing.output.splitlines() if "org.platform.run_log: upload" in line]
    assert len(warnings) == 1
    assert "NoSuchBucket" in warnings[0]
    assert "UPLOAD failed" in _only_log(tmp_path / "logs2").read_text()
