# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golden AMI decision against the AWS emulator, with images registered in it.

Images are seeded with RegisterImage; the emulator's images rule (sandbox/emulator/rules/images.py) keeps
their architecture and tags and lets `sandbox:*` tags seed what a real account reaches only over time
(pending/failed state, Amazon ownership, an old CreationDate).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils.golden_ami import (
    REASON_FOUND,
    REASON_HASH_CHANGED,
    REASON_NONE_FOUND,
    REASON_SOURCE_SUPERSEDED,
    REASON_TOO_OLD,
    GoldenAmiError,
    GoldenAmiManager,
)

pytestmark = pytest.mark.integration

HASH = "1" * 64
OTHER_HASH = "2" * 64


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)


def register(
    ec2,
    name: str,
    *,
    arch: str = "x86_64",
    tags: dict[str, str] | None = None,
    state: str | None = None,
    owner: str | None = None,
    created: datetime | None = None,
) -> str:
    seed = {}
    if state:
        seed["sandbox:state"] = state
    if owner:
        seed["sandbox:owner"] = owner
    if created:
        seed["sandbox:creation-date"] = created.isoformat()
    all_tags = (tags or {}) | seed
    return ec2.register_image(
        Name=name,
        Architecture=arch,
        RootDeviceName="/dev/xvda",
        TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}],
    )["ImageId"]


def golden(ec2, name: str, source: str, *, build_hash: str = HASH, arch: str = "x86_64", **kwargs) -> str:
    tags = {"Role": "golden", "OS": "al2023", "Arch": arch, "BuildHash": build_hash, "SourceAmi": source}
    return register(ec2, name, arch=arch, tags=tags, **kwargs)


def current_source(ec2, arch: str = "x86_64") -> str:
    source = GoldenAmiManager(ec2, arch).newest_source()
    assert source is not None, "the emulator should carry moto's official AL2023 images"
    return source.image_id


def test_emulator_has_official_al2023_base_images(ec2) -> None:
    manager = GoldenAmiManager(ec2, "x86_64")
    source = manager.newest_source()
    assert source is not None
    assert source.name.startswith("al2023-ami-2023.")
    assert source.name.endswith("-x86_64")
    assert GoldenAmiManager(ec2, "arm64").newest_source().architecture == "arm64"


def test_none_found(ec2) -> None:
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (True, REASON_NONE_FOUND, "")
    assert decision.source_ami_id == current_source(ec2)


def test_found(ec2) -> None:
    ami = golden(ec2, "golden-found", current_source(ec2))
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (False, REASON_FOUND, ami)


def test_hash_changed(ec2) -> None:
    ami = golden(ec2, "golden-old-hash", current_source(ec2), build_hash=OTHER_HASH)
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (True, REASON_HASH_CHANGED, ami)
    assert "build hash changed" in decision.reason


def test_source_superseded(ec2) -> None:
    old_source = current_source(ec2)
    ami = golden(ec2, "golden-on-old-base", old_source)
    newer = register(
        ec2,
        "al2023-ami-2023.99.20990101.0-kernel-6.1-x86_64",
        owner="amazon",
        created=datetime.now(UTC) + timedelta(days=1),
    )
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (True, REASON_SOURCE_SUPERSEDED, ami)
    assert decision.source_ami_id == newer
    assert old_source in decision.reason
    assert newer in decision.reason


def test_newer_base_image_of_another_owner_or_pattern_does_not_supersede(ec2) -> None:
    ami = golden(ec2, "golden-current", current_source(ec2))
    later = datetime.now(UTC) + timedelta(days=1)
    register(ec2, "al2023-ami-2023.99.20990101.0-kernel-6.1-x86_64", created=later)  # ours, not Amazon's
    register(ec2, "al2023-ami-minimal-2023.99.20990101.0-kernel-6.1-x86_64", owner="amazon", created=later)
    register(ec2, "al2023-ami-2023.99.20990101.0-kernel-6.1-x86_64", owner="amazon", created=later, state="pending")
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.reason_code, decision.ami_id) == (REASON_FOUND, ami)


def test_too_old(ec2) -> None:
    ami = golden(ec2, "golden-old", current_source(ec2), created=datetime.now(UTC) - timedelta(days=45))
    manager = GoldenAmiManager(ec2, "x86_64")
    decision = manager.decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (True, REASON_TOO_OLD, ami)
    assert manager.decide(HASH, 60).reason_code == REASON_FOUND
    assert manager.decide(HASH, 0).reason_code == REASON_FOUND


def test_pending_and_failed_images_are_never_picked(ec2) -> None:
    source = current_source(ec2)
    now = datetime.now(UTC)
    ok = golden(ec2, "golden-ok", source, created=now - timedelta(days=2))
    pending = golden(ec2, "golden-pending", source, state="pending", created=now)
    failed = golden(ec2, "golden-failed", source, state="failed", created=now - timedelta(hours=1))
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.reason_code, decision.ami_id) == (REASON_FOUND, ok)
    assert {ignored["image_id"] for ignored in decision.ignored} == {pending, failed}


def test_only_pending_or_failed_means_none_found(ec2) -> None:
    source = current_source(ec2)
    golden(ec2, "golden-pending", source, state="pending")
    golden(ec2, "golden-failed", source, state="failed")
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (True, REASON_NONE_FOUND, "")
    assert "2 not available, ignored" in decision.reason


def test_multiple_candidates_newest_creation_date_wins(ec2) -> None:
    source = current_source(ec2)
    now = datetime.now(UTC)
    golden(ec2, "golden-a", source, created=now - timedelta(days=3))
    newest = golden(ec2, "golden-b", source, created=now - timedelta(days=1))
    golden(ec2, "golden-c", source, created=now - timedelta(days=2))
    golden(ec2, "golden-other-hash", source, build_hash=OTHER_HASH, created=now)
    golden(ec2, "golden-arm", source, arch="arm64", created=now)
    register(ec2, "not-golden", created=now)
    decision = GoldenAmiManager(ec2, "x86_64").decide(HASH, 30)
    assert (decision.reason_code, decision.ami_id) == (REASON_FOUND, newest)


def test_architecture_is_kept_apart(ec2) -> None:
    arm = golden(ec2, "golden-arm", current_source(ec2, "arm64"), arch="arm64")
    assert GoldenAmiManager(ec2, "x86_64").decide(HASH, 30).reason_code == REASON_NONE_FOUND
    assert GoldenAmiManager(ec2, "arm64").decide(HASH, 30).ami_id == arm


def test_deregister_old_keeps_newest_and_the_chosen_one(ec2) -> None:
    source = current_source(ec2)
    now = datetime.now(UTC)
    ids = [golden(ec2, f"golden-{n}", source, created=now - timedelta(days=n)) for n in range(1, 5)]
    pending = golden(ec2, "golden-pending", source, state="pending", created=now - timedelta(days=9))
    manager = GoldenAmiManager(ec2, "x86_64")
    planned = manager.deregister_old(keep=2, protect=[], check_mode=True)
    assert [image["image_id"] for image in planned] == ids[2:]
    assert len(manager.golden_images()) == 5, "check mode deregisters nothing"
    done = manager.deregister_old(keep=2, protect=[ids[3]], check_mode=False)
    assert [image["image_id"] for image in done] == [ids[2]]
    left = {image.image_id for image in manager.golden_images()}
    assert left == {ids[0], ids[1], ids[3], pending}
    assert manager.deregister_old(keep=2, protect=[ids[3]], check_mode=False) == []


def test_require_imdsv2_marks_once(ec2) -> None:
    ami = golden(ec2, "golden-imds", current_source(ec2))
    manager = GoldenAmiManager(ec2, "x86_64")
    assert manager.require_imdsv2(ami, check_mode=True) is True
    assert ec2.describe_image_attribute(ImageId=ami, Attribute="imdsSupport")["ImdsSupport"].get("Value") is None
    assert manager.require_imdsv2(ami, check_mode=False) is True
    assert ec2.describe_image_attribute(ImageId=ami, Attribute="imdsSupport")["ImdsSupport"]["Value"] == "v2.0"
    assert manager.require_imdsv2(ami, check_mode=False) is False


def test_decide_rejects_negative_age(ec2) -> None:
    with pytest.raises(GoldenAmiError, match="max_age_days"):
        GoldenAmiManager(ec2, "x86_64").decide(HASH, -1)


# --- the module, through ansible-playbook (action group, check mode, idempotence) --------------------------
# Bad input is covered without a server in tests/unit/plugins/modules/test_golden_ami_module.py and through
# the role in test_golden_ami_role.py.


def module_play(tmp_path: Path, aws, module_args: dict) -> Path:
    defaults = {"endpoint_url": aws.aws_endpoint_url, "region": aws.region}
    play = [
        {
            "name": "Run org.platform.golden_ami",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "module_defaults": {"group/org.platform.aws": defaults},
            "tasks": [
                {"name": "Decide", "org.platform.golden_ami": module_args, "register": "golden"},
                {
                    "name": "Save the result",
                    "ansible.builtin.copy": {
                        "content": "{{ golden | to_json }}",
                        "dest": str(tmp_path / "result.json"),
                        "mode": "0600",
                    },
                    "check_mode": False,
                },
            ],
        }
    ]
    path = tmp_path / "golden_module.yml"
    path.write_text(json.dumps(play))
    return path


def module_result(run, tmp_path: Path) -> dict:
    assert run.rc == 0, run.output
    result_file = tmp_path / "result.json"
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return result


def test_module_found_rerun_unchanged_and_check_mode(ec2, aws, playbook, tmp_path) -> None:
    ami = golden(ec2, "golden-module", current_source(ec2))
    args = {"arch": "x86_64", "build_hash": HASH, "max_age_days": 30}
    path = module_play(tmp_path, aws, args)
    check = module_result(playbook(path, inventory="localhost,", check=True), tmp_path)
    assert (check["build_required"], check["ami_id"], check["changed"]) == (False, ami, True)  # would set IMDSv2
    assert ec2.describe_image_attribute(ImageId=ami, Attribute="imdsSupport")["ImdsSupport"].get("Value") is None
    first = module_result(playbook(path, inventory="localhost,"), tmp_path)
    assert (first["reason_code"], first["ami_id"], first["imdsv2_set"]) == (REASON_FOUND, ami, True)
    again = module_result(playbook(path, inventory="localhost,"), tmp_path)
    assert (again["reason_code"], again["ami_id"], again["changed"]) == (REASON_FOUND, ami, False)


def test_module_computes_the_hash_from_the_packer_dir(ec2, aws, playbook, tmp_path) -> None:
    from ansible_collections.org.platform.plugins.module_utils.golden_ami import compute_build_hash

    from sandbox.services import REPO_ROOT

    versions = {"awscli_version": "2.22.35"}
    expected = compute_build_hash(REPO_ROOT / "packer", versions)
    args = {"packer_dir": str(REPO_ROOT / "packer"), "build_versions": versions}
    result = module_result(playbook(module_play(tmp_path, aws, args), inventory="localhost,"), tmp_path)
    assert (result["build_hash"], result["reason_code"], result["changed"]) == (expected, REASON_NONE_FOUND, False)
