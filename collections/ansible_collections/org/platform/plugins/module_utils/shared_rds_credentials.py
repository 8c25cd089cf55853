# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's shared RDS credentials in Secrets Manager, with rotation that MySQL can follow.

Plain Python, no Ansible: the ``shared_rds_credentials`` module and the unit tests call it with a boto3
Secrets Manager client (or anything with the same methods).

The secret holds one JSON document ``{username, password, database, host, port}``. The password is made
once and kept; rotation follows Secrets Manager's own rotation protocol so that the secret always holds a
version that works:

1. ``ensure(rotate=True)`` writes the new document as a version labelled ``AWSPENDING``; ``AWSCURRENT`` (what
   applications read) still holds the password MySQL knows.
2. The caller sets MySQL to the pending password.
3. ``promote()`` moves ``AWSCURRENT`` to the pending version (Secrets Manager moves ``AWSPREVIOUS``).

A run that stops after 1 leaves MySQL and ``AWSCURRENT`` agreeing. A run that stops between 2 and 3 is
finished by the next run: ``ensure`` finds the pending version and hands back *its* password (whatever
``rotate`` says), MySQL is set to it again (a no-op) and it is promoted.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import (
    BotoCoreError,
    ClientError,
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
    is_boto3_error_code,
    is_error,
)

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
DOCUMENT_KEYS = ("username", "password", "database", "host", "port")
PASSWORD_MIN_LENGTH = 32
PASSWORD_DEFAULT_LENGTH = 40
# Safe in URLs, DSNs, shells and RDS passwords (no quotes, '@', '/', ':', '%', '\\', '$', '`', spaces).
PASSWORD_SPECIALS = "-_.~!^*+="  # noqa: S105 - an alphabet, not a password
PASSWORD_ALPHABET = string.ascii_letters + string.digits + PASSWORD_SPECIALS
RECOVERY_WINDOW_RANGE = (7, 30)


class CredentialsError(Exception):
    """A secret could not be read, created, rotated or deleted."""


def generate_password(length: int = PASSWORD_DEFAULT_LENGTH) -> str:
    """A random password with upper, lower, digit and special characters (``secrets``, never ``random``)."""
    if length < PASSWORD_MIN_LENGTH:
        raise CredentialsError(f"password length {length} is below the minimum of {PASSWORD_MIN_LENGTH}")
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, PASSWORD_SPECIALS)
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(length))
        if all(any(char in group for char in password) for group in classes):
            return password


@dataclass(frozen=True)
class CredentialSpec:
    """What a service's secret should say, apart from the password."""

    name: str
    username: str
    database: str
    host: str
    port: int
    kms_key_id: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    password_length: int = PASSWORD_DEFAULT_LENGTH

    def document(self, password: str) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": password,
            "database": self.database,
            "host": self.host,
            "port": int(self.port),
        }


@dataclass
class Outcome:
    """What a call did (or, in check mode, would do). ``password`` is set by ``ensure`` only."""

    changed: bool = False
    arn: str | None = None
    version_id: str | None = None
    created: bool = False
    restored: bool = False
    rotated: bool = False
    resumed: bool = False
    pending: bool = False
    promoted: bool = False
    updated: list[str] = field(default_factory=list)
    deleted: bool = False
    password: str | None = field(default=None, repr=False)

    def as_result(self) -> dict[str, Any]:
        result = {key: value for key, value in self.__dict__.items() if key != "password"}
        if self.password is not None:
            result["password"] = self.password
        return result


def parse_document(secret_string: str | None, name: str, stage: str) -> dict[str, Any]:
    """The credentials document of one version; a version that is not one is an error, never overwritten."""
    try:
        document = json.loads(secret_string or "")
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("password"), str) or not document["password"]:
        raise CredentialsError(
            f"secret {name} ({stage}) is not a credentials document with a password; "
            "fix or delete it by hand, it is never overwritten"
        )
    return document


def wanted_tags(spec: CredentialSpec) -> dict[str, str]:
    """The secret's tags as strings, sorted by key (the order they are sent in)."""
    return {key: str(value) for key, value in sorted(spec.tags.items())}


class CredentialsManager:
    """Reads and writes one service's credentials secret. ``call_kwargs`` go to every client call.

    The client comes from ``_aws.module_client`` (the collection's one retry policy: botocore ``standard``
    retries inside the client); AWS errors become ``CredentialsError`` with the botocore error as its cause.
    """

    def __init__(
        self,
        client: Any,
        check_mode: bool = False,
        call_kwargs: Mapping[str, Any] | None = None,
        password_factory: Callable[[int], str] = generate_password,
    ):
        self.client = client
        self.check_mode = check_mode
        self.call_kwargs = dict(call_kwargs or {})
        self.password_factory = password_factory

    # -- client edges ---------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**kwargs, **self.call_kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise CredentialsError(f"{operation} on {kwargs.get('SecretId') or kwargs.get('Name')}: {exc}") from exc

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            return self.client.describe_secret(SecretId=name, **self.call_kwargs)
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except (BotoCoreError, ClientError) as exc:  # pylint: disable=duplicate-except
            raise CredentialsError(f"describe_secret on {name}: {exc}") from exc

    def stages(self, name: str) -> dict[str, str]:
        """Staging label -> version id, over every version of the secret.

        A ``NextToken`` loop because botocore has no paginator for ListSecretVersionIds (``can_paginate`` is
        False); every other list of the collection uses ``_aws.paginate``.
        """
        labels: dict[str, str] = {}
        kwargs: dict[str, Any] = {"SecretId": name, "IncludeDeprecated": False}
        while True:
            page = self._call("list_secret_version_ids", **kwargs)
            for version in page.get("Versions", []):
                for stage in version.get("VersionStages", []):
                    labels[stage] = version["VersionId"]
            if not page.get("NextToken"):
                return labels
            kwargs["NextToken"] = page["NextToken"]

    def read(self, name: str, stage: str, version_id: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"SecretId": name, "VersionStage": stage}
        if version_id:
            kwargs["VersionId"] = version_id
        return parse_document(self._call("get_secret_value", **kwargs).get("SecretString"), name, stage)

    # -- operations -----------------------------------------------------------------------------------

    def ensure(self, spec: CredentialSpec, rotate: bool = False) -> Outcome:
        """Make sure the secret exists; return the password MySQL must have (pending when ``outcome.pending``)."""
        secret = self.describe(spec.name)
        if secret is None:
            return self._create(spec)
        outcome = Outcome(arn=secret.get("ARN"))
        if secret.get("DeletedDate"):
            outcome.changed = outcome.restored = True
            if self.check_mode:
                # A secret scheduled for deletion cannot be read; predict with a throwaway password.
                outcome.password = self.password_factory(spec.password_length)
                outcome.rotated = rotate
                return outcome
            self._call("restore_secret", SecretId=spec.name)
        self._converge_settings(spec, secret, outcome)
        labels = self.stages(spec.name)
        if CURRENT not in labels:
            raise CredentialsError(f"secret {spec.name} has no {CURRENT} version; fix or delete it by hand")
        pending_id = labels.get(PENDING)
        if pending_id and pending_id != labels[CURRENT]:
            # An earlier run stopped in the middle of a rotation: finish that one, never start another.
            outcome.password = self.read(spec.name, PENDING, pending_id)["password"]
            outcome.version_id = pending_id
            outcome.changed = outcome.pending = outcome.resumed = True
            return outcome
        current = self.read(spec.name, CURRENT)
        if rotate:
            outcome.password = self.password_factory(spec.password_length)
            outcome.changed = outcome.pending = outcome.rotated = True
            if not self.check_mode:
                staged = self._call(
                    "put_secret_value",
                    SecretId=spec.name,
                    SecretString=json.dumps(spec.document(outcome.password), sort_keys=True),
                    VersionStages=[PENDING],
                    ClientRequestToken=str(uuid.uuid4()),
                )
                outcome.version_id = staged.get("VersionId")
            return outcome
        outcome.password = current["password"]
        outcome.version_id = labels[CURRENT]
        wanted = spec.document(current["password"])
        stale = sorted(key for key in DOCUMENT_KEYS if current.get(key) != wanted[key])
        if stale:
            # Same password, new connection details (e.g. the endpoint moved): a new AWSCURRENT version.
            outcome.changed = True
            outcome.updated.append("document:" + ",".join(stale))
            if not self.check_mode:
                written = self._call(
                    "put_secret_value",
                    SecretId=spec.name,
                    SecretString=json.dumps(wanted, sort_keys=True),
                    ClientRequestToken=str(uuid.uuid4()),
                )
                outcome.version_id = written.get("VersionId")
        return outcome

    def _create(self, spec: CredentialSpec) -> Outcome:
        password = self.password_factory(spec.password_length)
        outcome = Outcome(changed=True, created=True, password=password)
        if self.check_mode:
            return outcome
        kwargs: dict[str, Any] = {
            "Name": spec.name,
            "SecretString": json.dumps(spec.document(password), sort_keys=True),
            "ClientRequestToken": str(uuid.uuid4()),
        }
        if spec.description:
            kwargs["Description"] = spec.description
        if spec.kms_key_id:
            kwargs["KmsKeyId"] = spec.kms_key_id
        if spec.tags:
            kwargs["Tags"] = ansible_dict_to_boto3_tag_list(wanted_tags(spec))
        created = self._call("create_secret", **kwargs)
        outcome.arn = created.get("ARN")
        outcome.version_id = created.get("VersionId")
        return outcome

    def _converge_settings(self, spec: CredentialSpec, secret: Mapping[str, Any], outcome: Outcome) -> None:
        """KMS key, description and tags of an existing secret (tags are added or updated, never purged)."""
        update: dict[str, Any] = {}
        if spec.kms_key_id and secret.get("KmsKeyId") != spec.kms_key_id:
            update["KmsKeyId"] = spec.kms_key_id
            outcome.updated.append("kms_key_id")
        if spec.description and secret.get("Description") != spec.description:
            update["Description"] = spec.description
            outcome.updated.append("description")
        if update:
            outcome.changed = True
            if not self.check_mode:
                self._call("update_secret", SecretId=spec.name, **update)
        have = boto3_tag_list_to_ansible_dict(secret.get("Tags") or [])
        missing, _never_purged = compare_aws_tags(have, wanted_tags(spec), purge_tags=False)
        if missing:
            outcome.changed = True
            outcome.updated.append("tags:" + ",".join(sorted(missing)))
            if not self.check_mode:
                self._call(
                    "tag_resource",
                    SecretId=spec.name,
                    Tags=ansible_dict_to_boto3_tag_list(dict(sorted(missing.items()))),
                )

    def promote(self, name: str) -> Outcome:
        """Make the pending version current, once MySQL has its password. No pending version: no change."""
        secret = self.describe(name)
        if secret is None:
            if self.check_mode:
                return Outcome()
            raise CredentialsError(f"secret {name} does not exist; nothing to promote")
        outcome = Outcome(arn=secret.get("ARN"))
        labels = self.stages(name)
        pending_id, current_id = labels.get(PENDING), labels.get(CURRENT)
        if not pending_id or pending_id == current_id:
            outcome.version_id = current_id
            return outcome
        outcome.changed = outcome.promoted = True
        outcome.version_id = pending_id
        if self.check_mode:
            return outcome
        kwargs: dict[str, Any] = {"SecretId": name, "VersionStage": CURRENT, "MoveToVersionId": pending_id}
        if current_id:
            kwargs["RemoveFromVersionId"] = current_id
        self._call("update_secret_version_stage", **kwargs)
        self._call("update_secret_version_stage", SecretId=name, VersionStage=PENDING, RemoveFromVersionId=pending_id)
        return outcome

    def delete(self, name: str, recovery_window_days: int = RECOVERY_WINDOW_RANGE[1]) -> Outcome:
        """Schedule the secret's deletion (recoverable for the window). Gone or already scheduled: no change."""
        low, high = RECOVERY_WINDOW_RANGE
        if not low <= recovery_window_days <= high:
            raise CredentialsError(f"recovery window {recovery_window_days} days is outside {low}..{high}")
        secret = self.describe(name)
        if secret is None or secret.get("DeletedDate"):
            return Outcome(arn=(secret or {}).get("ARN"))
        outcome = Outcome(changed=True, deleted=True, arn=secret.get("ARN"))
        if not self.check_mode:
            try:
                self._call("delete_secret", SecretId=name, RecoveryWindowInDays=recovery_window_days)
            except CredentialsError as exc:
                if not is_error(exc.__cause__, "ResourceNotFoundException"):
                    raise
        return outcome
