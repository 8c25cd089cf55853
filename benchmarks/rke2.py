"""Benchmark: RKE2 over SSM, role org.platform.rke2 against a task-per-step role, on booted sandbox nodes.

    .venv/bin/python -m benchmarks.rke2 [--json]      (root, systemd-nspawn, debootstrap, kubectl)

A private sandbox with the node service (as ``benchmarks/ssm.py``), its own VPC ``10.67.0.0/16`` (the /16s
of docs/DEVELOPING.md "Parallel runs" are taken; this one is the benchmark's), the stand-in release in the
artifact bucket through the seed's own play (``sandbox/playbooks/rke2_artifacts.yml``, SIMULATED), and the
default fleet: 3 instances tagged ``Role: rke2-server`` and 2 ``Role: rke2-agent``. Every run goes through
``inventories/sandbox`` (the amazon.aws.aws_ec2 plugin, its group_vars, the real amazon.aws.aws_ssm
connection; only AWS's session-manager-plugin is the sandbox stand-in). Runs, in this order:

* ``ours fresh`` / ``ours rerun``: ``playbooks/rke2.yml`` twice. The rerun must change nothing and the five
  nodes must be Ready (kubectl from the VPC's router namespace through the kubeconfig the role fetched, as
  molecule/rke2/verify.yml does); otherwise the benchmark stops with an error.
* The fleet is terminated and a fresh one of the same shape launched.
* ``baseline fresh`` / ``baseline rerun``: ``benchmarks/rke2_baseline/site.yml``, the usual task-per-step
  role (lablabs/ansible-role-rke2 in airgap ``copy`` mode, see its README.md), the same release files
  downloaded to the controller first (outside the timed runs) and copied to every node with
  ``ansible.builtin.copy``; its cluster must be Ready too (through the kubeconfig it fetched).

Per node and run the emulator counts sessions started (rules/ssm_sessions.py: one per node task, and one per
item of a loop, because aws_ssm never marks itself connected and ansible-core makes a new connection for each
item; the retries of an ``until`` share their task's session), in-session commands and S3 transfer objects put
(rules/ssm_transfers.py). Transfer bytes: the benchmark turns versioning on for the transfer bucket, so
every object the connection puts (either direction) stays as a version after the plugin deletes it; their
sizes are summed per instance (ListObjectVersions) and the versions purged before the next run. The
artifacts the nodes of ``ours`` pull from the artifact bucket are not transfer objects (they never pass
through the controller or the session) and are not counted. ``changed`` is the PLAY RECAP's, per node.

Figures are per role of node: the first server (it also runs the tasks delegated to it), the other servers
and the agents (median, with the range when the nodes differ). Ratios are baseline / ours, measured in the
same run. Goals (issue #11): ours <= 8 node tasks per node fresh, <= 3 on the rerun (PASS/FAIL, printed;
a FAIL does not change the exit code). Every exit path (errors, Ctrl-C, SIGTERM) stops each Ansible run's
process group and the sandbox, and checks that no machine, mount, cgroup, namespace, link or service of it
is left (exit 1 if something is).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import ssm
from sandbox.nodes import machine, net
from sandbox.services import REPO_ROOT

VENV_BIN = ssm.VENV_BIN
VPC_CIDR = "10.67.0.0/16"  # the benchmark's own /16 (10.9, 10.61-10.66 are the tests', ssm.py's 10.63)
SUBNET_CIDR = "10.67.10.0/24"
VERSION = "v1.33.5+rke2r1"  # sandbox/playbooks/rke2_artifacts.yml and the role's default
ARTIFACT_BUCKET = "sandbox-rke2-artifacts"  # inventories/sandbox/group_vars/all/rke2.yml
BASELINE_FILES = (
    "sha256sum-amd64.txt",
    "rke2.linux-amd64.tar.gz",
    "rke2-images-core.linux-amd64.tar.zst",
    "rke2-images-canal.linux-amd64.tar.zst",
    "install.sh",
)
SERVERS, AGENTS = 3, 2
GOAL_FRESH, GOAL_RERUN = 8, 3
ROLES = ("first server", "other servers", "agents")
FIGURES = ("sessions", "commands", "s3_objects", "s3_bytes")
LABELS = {
    "sessions": "node tasks (sessions)",
    "commands": "in-session commands",
    "s3_objects": "transfer objects",
    "s3_bytes": "transfer bytes",
}
QUOTED = (
    "QUOTED, not measured: lablabs/ansible-role-rke2 1.53.0, static count of node-touching tasks in its "
    "tasks/*.yml: ~40 on a first server for a fresh install (an upper bound, many are conditional; "
    "../shared/reference/anchors-2026-12.md section 1.1)"
)
TERMINATE_TIMEOUT_S = 180


def why_not() -> str | None:
    return ssm.why_not() or (None if shutil.which("kubectl") else "kubectl is missing (Debian kubernetes-client)")


def run_tool(argv: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    """Run an Ansible command in a process group of its own; on any exit (error, timeout, signal) the whole
    group (its forks and their session-manager-plugin stand-ins) is stopped, so nothing outlives the run."""
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
        start_new_session=True,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            stop_group(process)
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the run's process group, up to 10 s for its leader to exit, then SIGKILL to what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Cluster(ssm.Fleet):
    """The benchmark's sandbox: its VPC, the release in the artifact bucket, fleets of 3 servers + 2 agents."""

    def __init__(self, state_dir: Path):
        super().__init__(state_dir, nodes=0)
        self.roles: dict[str, str] = {}  # instance id -> first server / other servers / agents

    def up(self) -> None:
        self.url = self.sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        self.c = {s: self.client(s) for s in ("ec2", "iam", "ssm", "s3")}
        print(f"SIMULATED: the VPC, node role, golden image and transfer bucket are made in the emulator at {self.url}")
        ec2 = self.c["ec2"]
        self.vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        self.subnet = ec2.create_subnet(VpcId=self.vpc, CidrBlock=SUBNET_CIDR)["Subnet"]["SubnetId"]
        self.c["iam"].create_role(RoleName="bench-node", AssumeRolePolicyDocument="{}")
        self.c["iam"].create_instance_profile(InstanceProfileName="bench-node")
        self.c["iam"].add_role_to_instance_profile(InstanceProfileName="bench-node", RoleName="bench-node")
        golden = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}]}]
        self.ami = ec2.register_image(Name="golden-bench", TagSpecifications=golden)["ImageId"]
        self.c["s3"].create_bucket(Bucket=ssm.BUCKET)
        # Benchmark only: a versioned transfer bucket keeps every object the connection puts, for its size.
        self.c["s3"].put_bucket_versioning(Bucket=ssm.BUCKET, VersioningConfiguration={"Status": "Enabled"})

    def playbook(self, name: str, *argv: str) -> subprocess.CompletedProcess:
        """An untimed, uncounted ansible-playbook run against inventories/sandbox (setup steps)."""
        done = run_tool([str(VENV_BIN / "ansible-playbook"), "-i", "inventories/sandbox", *argv], self.env(), 900)
        if done.returncode != 0:
            raise SystemExit(
                f"benchmarks.rke2: {name} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}"
            )
        return done

    def release_to_controller(self, dest: Path) -> int:
        """The release files the baseline copies, downloaded from the artifact bucket to the controller; bytes."""
        dest.mkdir(parents=True)
        for name in BASELINE_FILES:
            self.c["s3"].download_file(ARTIFACT_BUCKET, f"rke2/{VERSION}/{name}", str(dest / name))
        return sum((dest / name).stat().st_size for name in BASELINE_FILES)

    def launch_cluster(self) -> list[str]:
        """3 servers and 2 agents, Online in SSM; their roles as the inventory groups them."""
        self.online_s = {}
        servers = self.launch(SERVERS, "rke2-server", self.online_s)
        agents = self.launch(AGENTS, "rke2-agent", self.online_s)
        self.ids = servers + agents
        listing = run_tool(
            [str(VENV_BIN / "ansible-inventory"), "-i", "inventories/sandbox", "--list"], self.env(), 120
        )
        if listing.returncode != 0:
            raise SystemExit(f"benchmarks.rke2: ansible-inventory failed: {listing.stderr[-2000:]}")
        groups = json.loads(listing.stdout)
        found_servers = groups["rke2_servers"]["hosts"]
        found_agents = groups["rke2_agents"]["hosts"]
        if sorted(found_servers) != sorted(servers) or sorted(found_agents) != sorted(agents):
            raise SystemExit(f"benchmarks.rke2: the inventory groups {found_servers} / {found_agents}, not {self.ids}")
        self.roles = {found_servers[0]: ROLES[0]} | dict.fromkeys(found_servers[1:], ROLES[1])
        self.roles |= dict.fromkeys(found_agents, ROLES[2])
        return self.ids

    def terminate(self) -> None:
        """Terminate the fleet and wait until its machines are gone (the next fleet starts from nothing)."""
        ec2 = self.c["ec2"]
        ec2.terminate_instances(InstanceIds=self.ids)
        deadline = time.monotonic() + TERMINATE_TIMEOUT_S
        while True:
            answer = ec2.describe_instances(InstanceIds=self.ids)["Reservations"]
            states = {i["InstanceId"]: i["State"]["Name"] for r in answer for i in r["Instances"]}
            homes = [self.state_dir / "nodes" / i / "pid" for i in self.ids]
            if all(s == "terminated" for s in states.values()) and not any(p.exists() for p in homes):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"benchmarks.rke2: not terminated after {TERMINATE_TIMEOUT_S} s: {states}")
            time.sleep(0.5)

    def transfer_bytes(self) -> tuple[dict[str, int], int]:
        """Bytes of every transfer object version per instance, and the objects still current; then purged."""
        s3, sizes, left, purge = self.c["s3"], {}, 0, []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=ssm.BUCKET):
            for version in page.get("Versions", []):
                instance = version["Key"].split("/", 1)[0]
                sizes[instance] = sizes.get(instance, 0) + version["Size"]
                left += bool(version["IsLatest"])
                purge.append({"Key": version["Key"], "VersionId": version["VersionId"]})
            for marker in page.get("DeleteMarkers", []):
                purge.append({"Key": marker["Key"], "VersionId": marker["VersionId"]})
        for start in range(0, len(purge), 1000):
            s3.delete_objects(Bucket=ssm.BUCKET, Delete={"Objects": purge[start : start + 1000], "Quiet": True})
        return sizes, left

    def measure(self, name: str, argv: list[str]) -> dict:
        """One counted, timed run: per node of the fleet its counter deltas, bytes and recap changed."""
        self.transfer_bytes()
        before = ssm.counters(self.url)
        started = time.monotonic()
        done = run_tool(argv, self.env(), 1800)
        wall = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(
                f"benchmarks.rke2: {name} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-6000:]}"
            )
        after = ssm.counters(self.url)
        sizes, left = self.transfer_bytes()
        zero = {"sessions": 0, "commands": 0, "s3_objects": 0}
        recap = {m[0]: int(m[1]) for m in ssm.RECAP.findall(done.stdout)}
        per_node = {
            i: {k: after.get(i, zero)[k] - before.get(i, zero)[k] for k in zero}
            | {"s3_bytes": sizes.get(i, 0), "changed": recap.get(i, 0), "role": self.roles[i]}
            for i in self.ids
        }
        missing = [i for i in self.ids if i not in recap]
        if missing:
            raise SystemExit(f"benchmarks.rke2: {name}: no PLAY RECAP line for {missing}:\n{done.stdout[-4000:]}")
        changed_elsewhere = {h: c for h, c in recap.items() if h not in per_node and c}
        return {
            "name": name,
            "wall_s": round(wall, 2),
            "per_node": per_node,
            "changed_controller": changed_elsewhere,
            "objects_left_in_transfer_bucket": left,
        }

    def ready_nodes(self, kubeconfig: Path) -> list[list[str]]:
        """kubectl get nodes from the VPC's router namespace (a client inside the VPC) through kubeconfig."""
        vpcs = json.loads((self.state_dir / "nodes" / "vpcs.json").read_text())
        argv = ["ip", "netns", "exec", vpcs[self.vpc]["netns"], "kubectl", "--kubeconfig", str(kubeconfig)]
        done = subprocess.run(
            [*argv, "get", "nodes", "--no-headers"], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"benchmarks.rke2: kubectl get nodes failed: {done.stderr.strip()}")
        return [line.split() for line in done.stdout.splitlines() if line.strip()]

    def require_ready(self, what: str, kubeconfig: Path) -> list[list[str]]:
        rows = self.ready_nodes(kubeconfig)
        if len(rows) != SERVERS + AGENTS or any(row[1] != "Ready" for row in rows):
            raise SystemExit(f"benchmarks.rke2: {what}: not {SERVERS + AGENTS} Ready nodes: {rows}")
        return rows

    def leftovers(self) -> dict:
        marker = str(self.state_dir.resolve())
        mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if marker in line]
        cgroups = [
            str(group)
            for home in sorted((self.state_dir / "nodes").glob("*/"))
            for group in machine.cgroup_dirs(machine.cgroup_name(home))
            if group.exists()
        ]
        services = [name for name, s in self.sandbox.status().items() if s["running"]]
        return {
            "machines": machine.machine_processes(self.state_dir),
            "mounts": mounts,
            "cgroups": cgroups,
            "services": services,
            **net.leftovers(net.sandbox_tag(self.state_dir)),
        }

    def down(self) -> dict:
        self.sandbox.down(purge=False)
        left = self.leftovers()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return {k: v for k, v in left.items() if v}


def run_all(cluster: Cluster, work: Path) -> dict:
    playbook = str(VENV_BIN / "ansible-playbook")
    inventory = ["-i", "inventories/sandbox"]
    cluster.up()
    cluster.playbook("the stand-in release upload", "sandbox/playbooks/rke2_artifacts.yml")
    release = work / "release"
    release_bytes = cluster.release_to_controller(release)

    fleets: dict[str, dict] = {}
    cluster.launch_cluster()
    fleets["ours"] = {"online_s": cluster.online_s, "roles": dict(cluster.roles)}
    ours_argv = [playbook, *inventory, "playbooks/rke2.yml"]
    ours_fresh = cluster.measure("ours fresh", ours_argv)
    ready_ours = cluster.require_ready("ours fresh", cluster.state_dir / "kubeconfig")
    ours_rerun = cluster.measure("ours rerun", ours_argv)
    changed = {i: n["changed"] for i, n in ours_rerun["per_node"].items() if n["changed"]}
    if changed or ours_rerun["changed_controller"]:
        raise SystemExit(
            f"benchmarks.rke2: the rerun of playbooks/rke2.yml changed something: {changed or ''} "
            f"{ours_rerun['changed_controller'] or ''}"
        )
    cluster.require_ready("ours rerun", cluster.state_dir / "kubeconfig")
    cluster.terminate()

    cluster.launch_cluster()
    fleets["baseline"] = {"online_s": cluster.online_s, "roles": dict(cluster.roles)}
    kubeconfig = work / "baseline.kubeconfig"
    extra = work / "baseline-vars.json"
    extra.touch(mode=0o600)
    extra.write_text(
        json.dumps({
            "rke2_baseline_release_dir": str(release),
            "rke2_baseline_token": secrets.token_hex(24),
            "rke2_baseline_kubeconfig": str(kubeconfig),
            "rke2_baseline_version": VERSION,
        })
    )  # fmt: skip
    base_argv = [playbook, *inventory, "benchmarks/rke2_baseline/site.yml", "-e", f"@{extra}"]
    base_fresh = cluster.measure("baseline fresh", base_argv)
    ready_base = cluster.require_ready("baseline fresh", kubeconfig)
    base_rerun = cluster.measure("baseline rerun", base_argv)
    cluster.require_ready("baseline rerun", kubeconfig)
    return {
        "fleets": fleets,
        "runs": [ours_fresh, ours_rerun, base_fresh, base_rerun],
        "ready": {"ours": ready_ours, "baseline": ready_base},
        "release_bytes_copied_per_node": release_bytes,
    }


def by_role(run: dict, key: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {role: [] for role in ROLES}
    for node in run["per_node"].values():
        out[node["role"]].append(node[key])
    return {role: sorted(values) for role, values in out.items()}


def number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def cell(values: list[int]) -> str:
    text = number(statistics.median(values))
    return text if values[0] == values[-1] else f"{text} ({values[0]}-{values[-1]})"


def ratio(base: float, ours: float) -> str:
    return f"{base / ours:.1f}x" if ours else ("n/a (0)" if base else "1x (0)")


def summary(runs: list[dict]) -> dict:
    named = {r["name"]: r for r in runs}
    table = {}
    for phase in ("fresh", "rerun"):
        ours, base = named[f"ours {phase}"], named[f"baseline {phase}"]
        for key in (*FIGURES, "changed"):
            mine, theirs = by_role(ours, key), by_role(base, key)
            for role in ROLES:
                a, b = statistics.median(mine[role]), statistics.median(theirs[role])
                shown = "-" if key == "changed" else ratio(b, a)
                table[f"{phase}/{key}/{role}"] = {"ours": mine[role], "baseline": theirs[role], "ratio": shown}
        table[f"{phase}/wall_s"] = {
            "ours": ours["wall_s"],
            "baseline": base["wall_s"],
            "ratio": ratio(base["wall_s"], ours["wall_s"]),
        }
    fresh_max = max(n["sessions"] for n in named["ours fresh"]["per_node"].values())
    rerun_max = max(n["sessions"] for n in named["ours rerun"]["per_node"].values())
    goals = {
        f"ours <= {GOAL_FRESH} node tasks per node, fresh": {"max": fresh_max, "pass": fresh_max <= GOAL_FRESH},
        f"ours <= {GOAL_RERUN} node tasks per node, rerun": {"max": rerun_max, "pass": rerun_max <= GOAL_RERUN},
    }
    return {"table": table, "goals": goals}


def print_report(figures: dict) -> None:
    table = figures["summary"]["table"]
    print(f"\nRKE2 over SSM, {SERVERS} servers + {AGENTS} agents, per node ({figures['date']})")
    for fleet, info in figures["fleets"].items():
        online = statistics.median(info["online_s"].values())
        print(f"boot-to-Online, {fleet} fleet: median {online:.2f} s")
    print(
        "| node role | figure | ours fresh | baseline fresh | baseline/ours | ours rerun | baseline rerun | baseline/ours |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for role in ROLES:
        for key in (*FIGURES, "changed"):
            f, r = table[f"fresh/{key}/{role}"], table[f"rerun/{key}/{role}"]
            label = LABELS.get(key, "changed (recap)")
            print(
                f"| {role} | {label} | {cell(f['ours'])} | {cell(f['baseline'])} | {f['ratio']} "
                f"| {cell(r['ours'])} | {cell(r['baseline'])} | {r['ratio']} |"
            )
    f, r = table["fresh/wall_s"], table["rerun/wall_s"]
    print(
        f"| all | wall time (s) | {f['ours']:.1f} | {f['baseline']:.1f} | {f['ratio']} "
        f"| {r['ours']:.1f} | {r['baseline']:.1f} | {r['ratio']} |"
    )
    print(
        f"of the baseline's fresh transfer bytes per node, {figures['release_bytes_copied_per_node']} are the"
        " release files it copies (the sandbox's stand-in sizes; the rest, in both methods, is the modules'"
        " AnsiballZ payloads); ours moves no release byte through the controller or the session"
    )
    print(QUOTED)
    for goal, verdict in figures["summary"]["goals"].items():
        print(f"goal: {goal}: {'PASS' if verdict['pass'] else 'FAIL'} (max {verdict['max']})")
    left = {r["name"]: r["objects_left_in_transfer_bucket"] for r in figures["runs"]}
    print(f"objects left in the transfer bucket after each run: {left}")
    print(
        f"benchmark wall time: {figures['benchmark_wall_s']:.0f} s; left behind: {figures['left_behind'] or 'nothing'}"
    )


def _raise_on_signal(signum, _frame):
    raise SystemExit(f"benchmarks.rke2: stopped by signal {signum}; cleaning up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    reason = why_not()
    if reason:
        print(f"benchmarks.rke2: skipped, it cannot run here: {reason}")
        return 0
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="org-platform-bench-rke2-"))
    cluster = Cluster(work / "sandbox")
    try:
        results = run_all(cluster, work)
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        left = cluster.down()
        shutil.rmtree(work, ignore_errors=True)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        if left:
            print(f"benchmarks.rke2: left behind: {left}", file=sys.stderr)
    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": ".venv/bin/python -m benchmarks.rke2" + (" --json" if args.json else ""),
        **results,
        "summary": summary(results["runs"]),
        "benchmark_wall_s": round(time.monotonic() - started, 1),
        "left_behind": left,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_report(figures)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
