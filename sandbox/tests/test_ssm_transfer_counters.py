# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator rule ssm_transfers: per-instance S3 transfer objects and in-session commands."""

from __future__ import annotations

import io
import json
import urllib.request

import boto3
import pytest

from sandbox.emulator.rules import _state, ssm_sessions, ssm_transfers

INSTANCE = "i-0123456789abcdef0"


@pytest.fixture
def clean():
    ssm_transfers.reset()
    ssm_sessions.reset()
    yield
    ssm_transfers.reset()
    ssm_sessions.reset()


def _post(path: str, payload) -> tuple[str, dict]:
    body = json.dumps(payload).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    status: dict[str, str] = {}
    chunks = ssm_transfers._control(environ, lambda s, h: status.setdefault("status", s))
    return status["status"], json.loads(b"".join(chunks))


def _session(target: str, status: str = "Connected") -> tuple[str, str]:
    with _state.LOCK:
        ssm_sessions.SESSIONS["caller-abc"] = {"target": target, "caller": "AKIA", "token": "tok", "status": status}
    return "caller-abc", "tok"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", f"/org-sandbox-ssm-transfer/{INSTANCE}//var/tmp/ansible-ssm-user/x/AnsiballZ_ping.py", "s3_put"),
        ("GET", f"/org-sandbox-ssm-transfer/{INSTANCE}/tmp/file", "s3_get"),
        ("DELETE", f"/{INSTANCE}/tmp/file", "s3_delete"),  # virtual-hosted: the bucket is in the Host
    ],
)
def test_transfer_objects_are_counted_per_instance(method, path, expected):
    assert ssm_transfers.transfer_kind(method, path) == (INSTANCE, expected)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/bucket/state/terraform.tfstate"),  # not an instance prefix
        ("PUT", f"/bucket/{INSTANCE}"),  # the prefix alone is no transfer object
        ("POST", f"/bucket/{INSTANCE}/x"),  # not put/get/delete
        ("GET", "/"),
        ("PUT", "/bucket/i-xyz/file"),  # not an instance id
    ],
)
def test_other_requests_are_not_transfers(method, path):
    assert ssm_transfers.transfer_kind(method, path) is None


def test_only_successful_requests_count(clean):
    ssm_transfers.count_response({"REQUEST_METHOD": "PUT", "PATH_INFO": f"/b/{INSTANCE}/f"}, "200 OK")
    ssm_transfers.count_response({"REQUEST_METHOD": "GET", "PATH_INFO": f"/b/{INSTANCE}/f"}, "403 Forbidden")
    assert ssm_transfers.snapshot()[INSTANCE] == {
        "commands": 0,
        "sessions_reported": 0,
        "s3_put": 1,
        "s3_get": 0,
        "s3_delete": 0,
    }


def test_a_live_session_reports_its_commands_with_its_token(clean):
    session_id, token = _session(INSTANCE)
    status, answer = _post(ssm_transfers.CHANNEL_PATH, {"session_id": session_id, "token": token, "commands": 6})
    assert status.startswith("200"), answer
    assert answer == {"target": INSTANCE, "commands": 6}
    _post(ssm_transfers.CHANNEL_PATH, {"session_id": session_id, "token": token, "commands": 2})
    counts = ssm_transfers.snapshot()[INSTANCE]
    assert (counts["commands"], counts["sessions_reported"]) == (8, 2)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"session_id": "caller-abc", "token": "forged", "commands": 1}, "403"),
        ({"session_id": "nobody", "token": "tok", "commands": 1}, "403"),
        ({"session_id": "caller-abc", "token": "tok", "commands": -1}, "400"),
        ({"session_id": "caller-abc", "token": "tok", "commands": "7"}, "400"),
        ({"session_id": "caller-abc", "token": "tok", "commands": True}, "400"),
    ],
)
def test_a_report_without_the_live_token_or_with_a_bad_count_is_refused(clean, payload, code):
    _session(INSTANCE)
    status, _ = _post(ssm_transfers.CHANNEL_PATH, payload)
    assert status.startswith(code)
    assert ssm_transfers.snapshot() == {}


def test_a_terminated_session_cannot_report(clean):
    session_id, token = _session(INSTANCE, status="Terminated")
    status, _ = _post(ssm_transfers.CHANNEL_PATH, {"session_id": session_id, "token": token, "commands": 1})
    assert status.startswith("403")


def test_reset_zeroes_the_counters(clean):
    ssm_transfers.count_response({"REQUEST_METHOD": "PUT", "PATH_INFO": f"/b/{INSTANCE}/f"}, "200 OK")
    status, answer = _post(ssm_transfers.CONTROL_PATH, {"reset_counters": True})
    assert status.startswith("200")
    assert answer == {"counters": {}}


@pytest.mark.integration
def test_the_emulator_server_counts_put_get_and_delete_of_transfer_objects(aws):
    s3 = boto3.client("s3", region_name=aws.region)
    s3.create_bucket(Bucket="org-sandbox-ssm-transfer")
    url = f"{aws.aws_endpoint_url}{ssm_transfers.CONTROL_PATH}"
    reset = urllib.request.Request(url, data=b'{"reset_counters": true}', method="POST")  # noqa: S310
    with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - the loopback emulator
        pass
    key = f"{INSTANCE}//var/tmp/ansible-ssm-user/AnsiballZ_ping.py"
    s3.put_object(Bucket="org-sandbox-ssm-transfer", Key=key, Body=b"payload")
    s3.get_object(Bucket="org-sandbox-ssm-transfer", Key=key)["Body"].read()
    s3.delete_object(Bucket="org-sandbox-ssm-transfer", Key=key)
    s3.put_object(Bucket="org-sandbox-ssm-transfer", Key="not-an-instance/file", Body=b"x")
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310
        counters = json.loads(answer.read())["counters"]
    assert counters == {
        INSTANCE: {"commands": 0, "sessions_reported": 0, "s3_put": 1, "s3_get": 1, "s3_delete": 1},
    }
