# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSM readiness of EC2 instances: DescribeInstanceInformation for all targets in one call, names from EC2.

Used by the module ``org.platform.ssm_instances_info`` (and through it the role ``org.platform.ssm_nodes``).
Read only: nothing here changes anything.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import (
    BUCKET_MISSING_CODES,
    BotoCoreError,
    ClientError,
    boto3_tag_list_to_ansible_dict,
    error_code,
    is_boto3_error_code,
    paginate,
)

INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
# DescribeInstanceInformation takes at most 50 values in one InstanceIds filter.
FILTER_VALUES_MAX = 50


class SsmInstancesError(Exception):
    """A refusal with a message that names the problem."""


def validate_instance_ids(instance_ids: list[str]) -> list[str]:
    if not instance_ids:
        raise SsmInstancesError("no instance to check: instance_ids is empty (does the inventory match any host?)")
    bad = [i for i in instance_ids if not isinstance(i, str) or not INSTANCE_ID.fullmatch(i)]
    if bad:
        raise SsmInstancesError(f"not EC2 instance ids: {', '.join(map(repr, bad))} (expected i-0123456789abcdef0)")
    return sorted(set(instance_ids))


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def ping_statuses(ssm: Any, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
    """PingStatus and friends of every registered target: one DescribeInstanceInformation per 50 targets."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(instance_ids, FILTER_VALUES_MAX):
        pages = paginate(ssm, "describe_instance_information", Filters=[{"Key": "InstanceIds", "Values": chunk}])
        for item in pages.get("InstanceInformationList", []):
            last = item.get("LastPingDateTime")
            found[item["InstanceId"]] = {
                "ping_status": item.get("PingStatus", ""),
                "last_ping": last.isoformat() if hasattr(last, "isoformat") else str(last or ""),
                "agent_version": item.get("AgentVersion", ""),
                "ip_address": item.get("IPAddress", ""),
            }
    return found


def ec2_instances(ec2: Any, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """State and Name tag of the instances that exist (an unknown id is simply absent from the answer)."""
    found: dict[str, dict[str, str]] = {}
    pages = paginate(ec2, "describe_instances", Filters=[{"Name": "instance-id", "Values": instance_ids}])
    for reservation in pages.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            tags = boto3_tag_list_to_ansible_dict(instance.get("Tags", []))
            found[instance["InstanceId"]] = {
                "state": instance.get("State", {}).get("Name", ""),
                "name": tags.get("Name", ""),
                "private_ip": instance.get("PrivateIpAddress", ""),
            }
    return found


def describe(ec2: Any, ssm: Any, instance_ids: list[str]) -> dict[str, Any]:
    """One look at every target: what EC2 and SSM say, and which are Online, not yet, or cannot ever be."""
    ids = validate_instance_ids(instance_ids)
    machines = ec2_instances(ec2, ids)
    pings = ping_statuses(ssm, ids)
    instances = []
    for instance_id in ids:
        machine = machines.get(instance_id, {})
        ping = pings.get(instance_id, {})
        state = machine.get("state", "not-found")
        status = ping.get("ping_status") or "NotRegistered"
        if state == "running" and status == "Online":
            verdict = "online"
        elif state in ("pending", "running", "stopping", "stopped"):
            verdict = "waiting"  # may still come up (a stopped one only if someone starts it)
        else:
            verdict = "gone"  # not-found, shutting-down, terminated: it never will
        entry = {
            "instance_id": instance_id,
            "name": machine.get("name", ""),
            "state": state,
            "ping_status": status,
            "last_ping": ping.get("last_ping", ""),
            "private_ip": machine.get("private_ip", ""),
            "verdict": verdict,
        }
        entry["label"] = label(entry)
        instances.append(entry)
    return {
        "instances": instances,
        "online": [i["instance_id"] for i in instances if i["verdict"] == "online"],
        "not_online": [i["instance_id"] for i in instances if i["verdict"] != "online"],
        "gone": [i["instance_id"] for i in instances if i["verdict"] == "gone"],
        "all_online": all(i["verdict"] == "online" for i in instances),
    }


def label(instance: dict[str, Any]) -> str:
    """``i-0abc (bastion-1): running, SSM ConnectionLost`` — how a report names an instance."""
    name = f" ({instance['name']})" if instance.get("name") else ""
    return f"{instance['instance_id']}{name}: {instance['state']}, SSM {instance['ping_status']}"


def check_bucket(s3: Any, bucket: str) -> None:
    """The aws_ssm transfer bucket exists and is reachable; else a clear refusal before any wait."""
    try:
        s3.head_bucket(Bucket=bucket)
    except is_boto3_error_code(list(BUCKET_MISSING_CODES)):
        raise SsmInstancesError(
            f"the aws_ssm transfer bucket {bucket!r} does not exist: every module and file goes through it"
        ) from None
    except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
        raise SsmInstancesError(
            f"the aws_ssm transfer bucket {bucket!r} cannot be used: {error_code(error)} {error}"
        ) from None
