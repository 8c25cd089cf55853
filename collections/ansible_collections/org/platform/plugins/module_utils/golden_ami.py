# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden AMI: the build hash, the find-or-build decision and the keep-N cleanup plan.

Plain Python with type hints; no AnsibleModule in here. The module ``org.platform.golden_ami`` builds a
``GoldenAmiManager`` around a boto3 EC2 client and turns ``GoldenAmiError`` into ``fail_json``.

The decision, for one region and architecture:

1. golden images are ours (owner ``self``) tagged ``Role=golden``, ``OS=al2023``, ``Arch=<arch>`` with the
   matching architecture; only ``available`` ones count (``pending``/``failed``/... are reported, never used);
2. none available                                   -> build, ``none_found``;
3. none with the current ``BuildHash``              -> build, ``hash_changed``;
4. the newest (by CreationDate) with the hash has a ``SourceAmi`` that is not the newest official AL2023
   base image in the region                         -> build, ``source_superseded``;
5. it is older than ``max_age_days`` (0: no limit)  -> build, ``too_old``;
6. otherwise                                        -> no build, ``found``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import (
    BotoCoreError,
    ClientError,
    boto3_tag_list_to_ansible_dict,
    is_boto3_error_code,
    paginate,
)
from ansible_collections.org.platform.plugins.module_utils._runlog import (
    Redactor,
    RunLogError,
    create_log_file,
    line_stamp,
    write_private,
)

ARCHITECTURES = ("x86_64", "arm64")
ROLE_TAG = "golden"
OS_TAG = "al2023"
DEFAULT_SOURCE_OWNER = "amazon"
# Official AL2023 standard images (not "minimal"): al2023-ami-2023.<version>-kernel-6.<minor>-<arch>.
DEFAULT_SOURCE_NAME_PATTERN = "al2023-ami-2023.*-kernel-6.*-{arch}"
IMDS_V2 = "v2.0"
TEMPLATE_FILE = "golden.pkr.hcl"
SCRIPTS_DIR = "scripts"

# "Already gone" answers of a deregistration: the image or snapshot is not there, which is what we wanted.
IMAGE_GONE_CODES = ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"]
SNAPSHOT_GONE_CODES = ["InvalidSnapshot.NotFound"]

# The Packer build log: `<stamp>-<run id>_golden-ami-<arch>_<env>.log` by the collection's log rule (_runlog.py).
PACKER_LOG_WHAT = "golden-ami-{arch}"
PACKER_TAIL_LINES = 20
# Packer's debug log (PACKER_LOG=1) starts each line with Go's log stamp; the log rule's line_stamp replaces it.
_GO_LOG_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")
# amazon-ebs reports "AMIs were created:" then one "<region>: <ami id>" line per region.
_ARTIFACT_LINE = re.compile(r"(?:^|\s)[a-z]{2}(?:-[a-z]+)+-\d: (ami-[0-9a-f]{8,17})$")

REASON_NONE_FOUND = "none_found"
REASON_HASH_CHANGED = "hash_changed"
REASON_SOURCE_SUPERSEDED = "source_superseded"
REASON_TOO_OLD = "too_old"
REASON_FOUND = "found"


class GoldenAmiError(Exception):
    """Anything that stops the decision: bad input or an AWS error, with a message for the operator."""


@dataclass(frozen=True)
class Image:
    """The part of an EC2 image description the decision needs."""

    image_id: str
    name: str
    state: str
    creation_date: datetime
    architecture: str
    tags: dict[str, str] = field(default_factory=dict)
    snapshot_ids: tuple[str, ...] = ()

    @classmethod
    def from_aws(cls, description: Mapping[str, Any]) -> Image:
        return cls(
            image_id=description["ImageId"],
            name=description.get("Name", ""),
            state=description.get("State", ""),
            creation_date=parse_creation_date(description.get("CreationDate", "")),
            architecture=description.get("Architecture", ""),
            tags=boto3_tag_list_to_ansible_dict(description.get("Tags", [])),
            snapshot_ids=tuple(
                mapping["Ebs"]["SnapshotId"]
                for mapping in description.get("BlockDeviceMappings", [])
                if mapping.get("Ebs", {}).get("SnapshotId")
            ),
        )

    @property
    def build_hash(self) -> str:
        return self.tags.get("BuildHash", "")

    @property
    def source_ami(self) -> str:
        return self.tags.get("SourceAmi", "")

    def summary(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "name": self.name,
            "state": self.state,
            "creation_date": self.creation_date.isoformat(),
            "architecture": self.architecture,
            "build_hash": self.build_hash,
            "source_ami": self.source_ami,
        }


@dataclass(frozen=True)
class Decision:
    """What to do about the golden AMI. ``ami_id`` is the image to use now ('' when there is none)."""

    build_required: bool
    reason_code: str
    reason: str
    ami_id: str
    build_hash: str
    source_ami_id: str
    candidate: dict[str, Any] | None
    ignored: list[dict[str, Any]]

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


def parse_creation_date(value: str) -> datetime:
    """EC2 CreationDate ('2024-05-01T10:00:00.000Z') as an aware UTC datetime; the epoch when missing."""
    if not value:
        return datetime.fromtimestamp(0, UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def validate_inputs(arch: str, max_age_days: int, region: str | None) -> None:
    """Reject bad input before anything talks to AWS."""
    if not region:
        raise GoldenAmiError("region is required: set region (or AWS_REGION/AWS_DEFAULT_REGION)")
    if arch not in ARCHITECTURES:
        raise GoldenAmiError(f"unknown arch {arch!r}: expected one of {', '.join(ARCHITECTURES)}")
    if max_age_days < 0:
        raise GoldenAmiError(f"max_age_days must be 0 (no limit) or positive, not {max_age_days}")


def build_inputs(packer_dir: Path) -> list[Path]:
    """The files whose bytes define the image: the template and every file under scripts/, sorted."""
    template = packer_dir / TEMPLATE_FILE
    if not template.is_file():
        raise GoldenAmiError(f"Packer template not found: {template}")
    scripts = packer_dir / SCRIPTS_DIR
    script_files = sorted(path for path in scripts.rglob("*") if path.is_file()) if scripts.is_dir() else []
    return [template, *script_files]


def compute_build_hash(packer_dir: str | Path, pinned_versions: Mapping[str, Any]) -> str:
    """sha256 over the template, the provisioner scripts and the pinned versions, in a stable order.

    Paths enter relative to ``packer_dir`` so the hash does not depend on where the checkout lives.
    """
    packer_dir = Path(packer_dir)
    digest = hashlib.sha256()
    for path in build_inputs(packer_dir):
        digest.update(path.relative_to(packer_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for key in sorted(pinned_versions):
        digest.update(f"{key}={pinned_versions[key]}\n".encode())
    return digest.hexdigest()


def newest_first(images: Iterable[Image]) -> list[Image]:
    """Newest CreationDate first; equal dates fall back to name then id, so the order is deterministic."""
    return sorted(images, key=lambda image: (image.creation_date, image.name, image.image_id), reverse=True)


def decide(
    golden_images: Iterable[Image],
    newest_source: Image | None,
    build_hash: str,
    max_age_days: int,
    now: datetime,
) -> Decision:
    """The find-or-build decision over already-listed images (pure; see the module docstring)."""
    images = list(golden_images)
    available = newest_first(image for image in images if image.state == "available")
    ignored = [image.summary() for image in newest_first(image for image in images if image.state != "available")]
    source_ami_id = newest_source.image_id if newest_source else ""
    ignored_note = f" ({len(ignored)} not available, ignored)" if ignored else ""

    def result(build: bool, code: str, reason: str, chosen: Image | None) -> Decision:
        return Decision(
            build_required=build,
            reason_code=code,
            reason=reason + ignored_note,
            ami_id=chosen.image_id if chosen else "",
            build_hash=build_hash,
            source_ami_id=source_ami_id,
            candidate=chosen.summary() if chosen else None,
            ignored=ignored,
        )

    if not available:
        return result(True, REASON_NONE_FOUND, "no available golden AMI found", None)
    matching = [image for image in available if image.build_hash == build_hash]
    if not matching:
        newest = available[0]
        return result(
            True,
            REASON_HASH_CHANGED,
            f"build hash changed: newest golden AMI {newest.image_id} has BuildHash "
            f"{newest.build_hash[:12] or '(none)'}, the build inputs hash to {build_hash[:12]}",
            newest,
        )
    candidate = matching[0]
    if newest_source and candidate.source_ami != newest_source.image_id:
        return result(
            True,
            REASON_SOURCE_SUPERSEDED,
            f"source AMI superseded: {candidate.image_id} was built from {candidate.source_ami or '(unknown)'}, "
            f"the newest AL2023 base image is {newest_source.image_id} ({newest_source.name})",
            candidate,
        )
    age_days = (now - candidate.creation_date).total_seconds() / 86400
    if max_age_days and age_days > max_age_days:
        return result(
            True,
            REASON_TOO_OLD,
            f"older than max age: {candidate.image_id} is {age_days:.1f} days old (max {max_age_days})",
            candidate,
        )
    return result(False, REASON_FOUND, f"found: {candidate.image_id} ({candidate.name}) is current", candidate)


def parameter_in_place(ssm: Any, name: str, value: str, description: str, tags: Mapping[str, str]) -> bool:
    """Whether SSM parameter ``name`` is already the String ``value`` with this description and exactly these tags.

    What community.aws.ssm_parameter (overwrite_value=changed, purge_tags) compares, so the role can skip that
    task, one module start-up, when it would change nothing.
    """
    try:
        current = ssm.get_parameter(Name=name)["Parameter"]
        if current["Type"] != "String" or current["Value"] != value:
            return False
        found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
        if not found or found[0].get("Description", "") != description:
            return False
        have = boto3_tag_list_to_ansible_dict(
            ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList", [])
        )
    except is_boto3_error_code("ParameterNotFound"):
        return False
    except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
        raise GoldenAmiError(f"reading SSM parameter {name} failed: {error}") from error
    return have == {str(key): str(tag) for key, tag in tags.items()}


def cleanup_plan(golden_images: Iterable[Image], keep: int, protect: Iterable[str] = ()) -> list[Image]:
    """Available golden images to deregister: all but the newest ``keep``, never a protected id.

    Images that are not ``available`` (a build in progress, a failed one) are left for AWS/the operator.
    """
    if keep < 1:
        raise GoldenAmiError(f"keep must be at least 1, not {keep}")
    protected = set(protect)
    available = newest_first(image for image in golden_images if image.state == "available")
    return [image for image in available[keep:] if image.image_id not in protected]


class GoldenAmiManager:
    """Reads images from one region through a boto3 EC2 client and decides / cleans up.

    The client comes from ``_aws.module_client`` (the collection's one retry policy: botocore ``standard``
    retries inside the client, so every call and every page is retried on throttling).
    """

    def __init__(
        self,
        ec2: Any,
        arch: str,
        source_owner: str = DEFAULT_SOURCE_OWNER,
        source_name_pattern: str = DEFAULT_SOURCE_NAME_PATTERN,
    ) -> None:
        if arch not in ARCHITECTURES:
            raise GoldenAmiError(f"unknown arch {arch!r}: expected one of {', '.join(ARCHITECTURES)}")
        self.ec2 = ec2
        self.arch = arch
        self.source_owner = source_owner
        self.source_name_pattern = source_name_pattern.format(arch=arch)

    def _list(self, **kwargs: Any) -> list[Image]:
        # DescribeImages paginates only when MaxResults is given; the paginator handles both shapes.
        try:
            descriptions = paginate(self.ec2, "describe_images", **kwargs).get("Images", [])
        except (BotoCoreError, ClientError) as error:  # botocore errors carry the AWS message
            raise GoldenAmiError(f"DescribeImages failed: {error}") from error
        return [Image.from_aws(description) for description in descriptions]

    def golden_images(self) -> list[Image]:
        """Our golden images of this architecture, in every state."""
        images = self._list(
            Owners=["self"],
            Filters=[
                {"Name": "tag:Role", "Values": [ROLE_TAG]},
                {"Name": "tag:OS", "Values": [OS_TAG]},
                {"Name": "architecture", "Values": [self.arch]},
            ],
        )
        # The Arch tag must agree with the image's architecture when it is present.
        return [image for image in images if image.tags.get("Arch", self.arch) == self.arch]

    def newest_source(self) -> Image | None:
        """The newest available official AL2023 base image for this architecture (what Packer would pick)."""
        images = self._list(
            Owners=[self.source_owner],
            Filters=[
                {"Name": "name", "Values": [self.source_name_pattern]},
                {"Name": "architecture", "Values": [self.arch]},
                {"Name": "state", "Values": ["available"]},
            ],
        )
        ordered = newest_first(image for image in images if image.state == "available")
        return ordered[0] if ordered else None

    def decide(self, build_hash: str, max_age_days: int, now: datetime | None = None) -> Decision:
        if max_age_days < 0:
            raise GoldenAmiError(f"max_age_days must be 0 (no limit) or positive, not {max_age_days}")
        if not build_hash:
            raise GoldenAmiError("build_hash is empty")
        return decide(self.golden_images(), self.newest_source(), build_hash, max_age_days, now or datetime.now(UTC))

    def require_imdsv2(self, image_id: str, check_mode: bool) -> bool:
        """Mark the image ``ImdsSupport=v2.0`` (instances from it require IMDSv2); True when it was not yet.

        Packer 1.6.6 cannot set it at build time; AWS allows setting it once and never unsetting it.
        """
        try:
            attribute = self.ec2.describe_image_attribute(ImageId=image_id, Attribute="imdsSupport")
            if attribute.get("ImdsSupport", {}).get("Value") == IMDS_V2:
                return False
            if not check_mode:
                self.ec2.modify_image_attribute(ImageId=image_id, ImdsSupport={"Value": IMDS_V2})
        except (BotoCoreError, ClientError) as error:
            raise GoldenAmiError(f"setting ImdsSupport={IMDS_V2} on {image_id} failed: {error}") from error
        return True

    def deregister_old(self, keep: int, protect: Iterable[str], check_mode: bool) -> list[dict[str, Any]]:
        """Deregister all but the newest ``keep`` available golden images and delete their snapshots."""
        plan = cleanup_plan(self.golden_images(), keep, protect)
        if check_mode:
            return [image.summary() for image in plan]
        for image in plan:
            try:
                self.ec2.deregister_image(ImageId=image.image_id)
            except is_boto3_error_code(IMAGE_GONE_CODES):
                pass  # already gone: done
            except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
                raise GoldenAmiError(f"DeregisterImage {image.image_id} failed: {error}") from error
            for snapshot_id in image.snapshot_ids:
                try:
                    self.ec2.delete_snapshot(SnapshotId=snapshot_id)
                except is_boto3_error_code(SNAPSHOT_GONE_CODES):
                    pass  # already gone: done
                except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
                    raise GoldenAmiError(f"DeleteSnapshot {snapshot_id} failed: {error}") from error
        return [image.summary() for image in plan]


@dataclass(frozen=True)
class PackerRun:
    """What one ``packer build`` did: its exit code, the log and variables files, the AMIs it reported."""

    rc: int
    log_file: str
    var_file: str
    artifact_ids: list[str]
    tail: list[str]
    timed_out: bool = False

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


def run_packer_build(
    packer_bin: str,
    template: str | Path,
    variables: Mapping[str, Any],
    log_dir: str | Path,
    environment: str,
    arch: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> PackerRun:
    """Run ``packer build`` and write everything it prints to one log file by the collection's log rule.

    The file is ``<log_dir>/<stamp>-<run id>_golden-ami-<arch>_<env>.log`` (0600 in a 0700 directory,
    created exclusively); its variables file sits beside it as ``<same stem>.pkrvars.json`` (0600). Packer runs
    with ``PACKER_LOG=1`` and no ``PACKER_LOG_PATH``, so its debug log comes on stderr; stdout and stderr are
    written line by line, each line stamped with ``line_stamp()`` (Packer's own Go stamp removed) and passed
    through a ``Redactor`` that knows every secret-named value of the environment (``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, ...). The process runs in its own session; at ``timeout_s`` the whole group is killed.
    """
    template = Path(template)
    if not template.is_file():
        raise GoldenAmiError(f"Packer template not found: {template}")
    run_env = {**(env if env is not None else os.environ), "PACKER_LOG": "1", "CHECKPOINT_DISABLE": "1"}
    run_env.pop("PACKER_LOG_PATH", None)
    redactor = Redactor()
    redactor.add_named(run_env)
    try:
        log_path, fd = create_log_file(log_dir, PACKER_LOG_WHAT.format(arch=arch), environment)
        var_file = write_private(log_path.with_suffix(".pkrvars.json"), json.dumps(variables, indent=2) + "\n")
    except (RunLogError, OSError) as exc:
        raise GoldenAmiError(f"cannot create the Packer log: {exc}") from exc
    argv = [packer_bin, "build", "-color=false", f"-var-file={var_file}", str(template)]
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        log = _StampedLog(handle, redactor)
        log.write(f"packer build {template.name} (arch {arch}, environment {environment}), variables {var_file.name}")
        try:
            process = subprocess.Popen(
                argv,
                env=run_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"cannot start {packer_bin}: {exc.strerror or exc}")
            raise GoldenAmiError(f"cannot start Packer ({packer_bin}): {exc.strerror or exc}; log: {log_path}") from exc
        rc, timed_out, tail, artifacts = _follow(process, log, timeout_s)
        if timed_out:
            log.write(f"packer build stopped: timeout of {timeout_s:g}s passed")
        log.write(f"packer build finished: rc {rc}")
    return PackerRun(rc, str(log_path), str(var_file), artifacts, tail, timed_out)


class _StampedLog:
    """One line at a time: Packer's Go stamp removed, secrets masked, ``line_stamp()`` in front."""

    def __init__(self, handle: Any, redactor: Redactor):
        self.handle = handle
        self.redactor = redactor

    def write(self, text: str) -> str:
        line = self.redactor.line(_GO_LOG_STAMP.sub("", text.rstrip("\n")))
        self.handle.write(f"{line_stamp()} {line}\n")
        self.handle.flush()
        return line


def _follow(
    process: subprocess.Popen[str], log: _StampedLog, timeout_s: float | None
) -> tuple[int, bool, list[str], list[str]]:
    """Log every line until the process ends (its group killed at the timeout): rc, timed out, tail, AMI ids."""
    tail: deque[str] = deque(maxlen=PACKER_TAIL_LINES)
    artifacts: list[str] = []
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, stop) if timeout_s else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        for text in process.stdout or ():
            line = log.write(text)
            tail.append(line)
            match = _ARTIFACT_LINE.search(line)
            if match and match.group(1) not in artifacts:
                artifacts.append(match.group(1))
        rc = process.wait()
    finally:
        if timer:
            timer.cancel()
    return rc, timed_out.is_set(), list(tail), artifacts
