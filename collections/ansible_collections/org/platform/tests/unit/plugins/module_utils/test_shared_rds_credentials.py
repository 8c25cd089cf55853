# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/shared_rds_credentials against moto's in-process Secrets Manager."""

from __future__ import annotations

import json
import string

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils.shared_rds_credentials import (
    CURRENT,
    PASSWORD_MIN_LENGTH,
    PASSWORD_SPECIALS,
    PENDING,
    CredentialsError,
    CredentialsManager,
    CredentialSpec,
    generate_password,
)
from botocore.exceptions import ClientError
from moto import mock_aws

NAME = "/dev/fileflow/db-credentials"
REGION = "us-east-1"


@pytest.fixture
def client(monkeypatch):
    # In-process moto: no emulator endpoint may redirect these calls.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def kms_key(client):
    return boto3.client("kms", region_name=REGION).create_key(Description="secrets-manager")["KeyMetadata"]["Arn"]


def spec(kms_key: str | None = None, **changes) -> CredentialSpec:
    fields = {
        "name": NAME,
        "username": "fileflow_user",
        "database": "fileflow",
        "host": "dev-shared-mysql.example.internal",
        "port": 3306,
        "kms_key_id": kms_key,
        "description": "fileflow credentials",
        "tags": {"Service": "fileflow", "Environment": "dev"},
    }
    return CredentialSpec(**(fields | changes))


def stage(client, stage_name: str) -> dict:
    return json.loads(client.get_secret_value(SecretId=NAME, VersionStage=stage_name)["SecretString"])


def labels(client) -> dict[str, str]:
    found = {}
    for version in client.list_secret_version_ids(SecretId=NAME)["Versions"]:
        for label in version["VersionStages"]:
            found[label] = version["VersionId"]
    return found


@pytest.mark.parametrize("length", [32, 40, 64])
def test_generated_passwords_are_long_and_mixed(length):
    passwords = {generate_password(length) for _attempt in range(20)}
    assert len(passwords) == 20
    for password in passwords:
        assert len(password) == length
        assert set(password) <= set(string.ascii_letters + string.digits + PASSWORD_SPECIALS)
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(c in PASSWORD_SPECIALS for c in password)


def test_short_passwords_are_refused():
    with pytest.raises(CredentialsError, match="below the minimum"):
        generate_password(PASSWORD_MIN_LENGTH - 1)


def test_create_then_keep(client, kms_key):
    first = CredentialsManager(client).ensure(spec(kms_key))
    assert first.changed
    assert first.created
    assert not first.pending
    document = stage(client, CURRENT)
    assert document == {
        "username": "fileflow_user",
        "password": first.password,
        "database": "fileflow",
        "host": "dev-shared-mysql.example.internal",
        "port": 3306,
    }
    described = client.describe_secret(SecretId=NAME)
    assert described["KmsKeyId"] == kms_key
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"Service": "fileflow", "Environment": "dev"}

    second = CredentialsManager(client).ensure(spec(kms_key))
    assert not second.changed
    assert second.password == first.password
    assert second.updated == []
    assert "password" not in repr(second)


def test_check_mode_predicts_creation_and_writes_nothing(client):
    outcome = CredentialsManager(client, check_mode=True).ensure(spec())
    assert outcome.changed
    assert outcome.created
    assert len(outcome.password) >= PASSWORD_MIN_LENGTH
    assert client.list_secrets()["SecretList"] == []


def test_rotation_stages_pending_then_promotes(client):
    manager = CredentialsManager(client)
    old = manager.ensure(spec()).password
    staged = manager.ensure(spec(), rotate=True)
    assert staged.changed
    assert staged.pending
    assert staged.rotated
    assert staged.password != old
    # Until promotion, applications still read the password MySQL knows.
    assert stage(client, CURRENT)["password"] == old
    assert stage(client, PENDING)["password"] == staged.password

    promoted = manager.promote(NAME)
    assert promoted.changed
    assert promoted.promoted
    assert stage(client, CURRENT)["password"] == staged.password
    assert PENDING not in labels(client)
    assert stage(client, "AWSPREVIOUS")["password"] == old

    again = manager.promote(NAME)
    assert not again.changed
    assert manager.ensure(spec()).password == staged.password


def test_an_interrupted_rotation_is_resumed_not_restarted(client):
    manager = CredentialsManager(client)
    manager.ensure(spec())
    staged = manager.ensure(spec(), rotate=True)
    # The run stopped here (MySQL may or may not have the new password). The next run, rotating or not:
    for rotate in (False, True):
        resumed = manager.ensure(spec(), rotate=rotate)
        assert resumed.resumed
        assert resumed.pending
        assert resumed.password == staged.password
    manager.promote(NAME)
    assert stage(client, CURRENT)["password"] == staged.password


def test_check_mode_rotation_writes_nothing(client):
    manager = CredentialsManager(client)
    old = manager.ensure(spec()).password
    before = labels(client)
    predicted = CredentialsManager(client, check_mode=True).ensure(spec(), rotate=True)
    assert predicted.changed
    assert predicted.pending
    assert predicted.password != old
    assert labels(client) == before
    assert not CredentialsManager(client, check_mode=True).promote(NAME).changed


def test_new_connection_details_keep_the_password(client):
    manager = CredentialsManager(client)
    password = manager.ensure(spec()).password
    moved = manager.ensure(spec(host="new-endpoint.example.internal", port=3307))
    assert moved.changed
    assert moved.updated == ["document:host,port"]
    assert moved.password == password
    document = stage(client, CURRENT)
    assert (document["host"], document["port"], document["password"]) == (
        "new-endpoint.example.internal",
        3307,
        password,
    )


def test_tags_and_kms_key_are_converged(client, kms_key):
    manager = CredentialsManager(client)
    manager.ensure(spec())
    outcome = manager.ensure(spec(kms_key, tags={"Service": "fileflow", "Owner": "platform"}))
    assert outcome.changed
    assert "kms_key_id" in outcome.updated
    assert "tags:Owner" in outcome.updated
    described = client.describe_secret(SecretId=NAME)
    assert described["KmsKeyId"] == kms_key
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["Owner"] == "platform"


def test_a_foreign_document_is_never_overwritten(client):
    client.create_secret(Name=NAME, SecretString="not json")
    with pytest.raises(CredentialsError, match="not a credentials document"):
        CredentialsManager(client).ensure(spec())
    client.put_secret_value(SecretId=NAME, SecretString=json.dumps({"username": "x"}))
    with pytest.raises(CredentialsError, match="not a credentials document"):
        CredentialsManager(client).ensure(spec())


def test_delete_schedules_once_and_ensure_restores(client):
    manager = CredentialsManager(client)
    password = manager.ensure(spec()).password
    predicted = CredentialsManager(client, check_mode=True).delete(NAME, 7)
    assert predicted.changed
    assert predicted.deleted
    assert "DeletedDate" not in client.describe_secret(SecretId=NAME)
    deleted = manager.delete(NAME, 7)
    assert deleted.changed
    assert deleted.deleted
    assert "DeletedDate" in client.describe_secret(SecretId=NAME)
    assert not manager.delete(NAME, 7).changed
    restored = manager.ensure(spec())
    assert restored.restored
    assert restored.password == password
    assert "DeletedDate" not in client.describe_secret(SecretId=NAME)


def test_delete_of_a_missing_secret_is_no_change(client):
    assert not CredentialsManager(client).delete("/dev/nothing/db-credentials").changed


@pytest.mark.parametrize("days", [0, 6, 31])
def test_recovery_window_is_bounded(client, days):
    with pytest.raises(CredentialsError, match="recovery window"):
        CredentialsManager(client).delete(NAME, days)


def test_promote_of_a_missing_secret_fails_outside_check_mode(client):
    with pytest.raises(CredentialsError, match="does not exist"):
        CredentialsManager(client).promote(NAME)
    assert not CredentialsManager(client, check_mode=True).promote(NAME).changed


def test_call_kwargs_reach_every_call():
    seen: list[dict] = []

    class RecordingClient:
        def describe_secret(self, **kwargs):
            seen.append(kwargs)
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "DescribeSecret")

        def create_secret(self, **kwargs):
            seen.append(kwargs)
            return {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "VersionId": "v1"}

    outcome = CredentialsManager(RecordingClient(), call_kwargs={"aws_retry": True}).ensure(spec())
    assert outcome.created
    assert all(call.get("aws_retry") is True for call in seen)
    assert len(seen) == 2
