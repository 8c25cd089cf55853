"""DynamoDB rules.

* DescribeTable returns a ``TableId``, as AWS does. moto 5.2 leaves it out of ``TableDescription``;
  community.aws.dynamodb_table reads it and fails with ``KeyError: 'table_id'``. We return a stable
  UUID per table.

A conditional PutItem is not forgiven when it replays an item already stored: it fails
``ConditionalCheckFailed`` as on AWS. (An earlier rule let byte-identical replays succeed, for Terraform's
own lock request resent after a lost response through moto's threaded server. ``serialize_requests()``
in ``sandbox/emulator/__init__.py`` removed that race: with the rule disabled, the runner's lock tests
(``test_stack_runner_s3_backend.py -k lock``, 3 tests) ran 4 times: 11 of 12 passed, one failed on SIGINT
timing (the interrupted flag), none on a lock; the parallel ``-k apply`` tests passed; so it was deleted.)
"""

from __future__ import annotations

import uuid

from moto.dynamodb.models.table import Table

_NAMESPACE = uuid.UUID("6f1c2a1e-7d8b-4c55-9e0a-3b2f8d4c1e77")


def install() -> None:
    _install_table_id()


def _install_table_id() -> None:
    if getattr(Table.describe, "_org_platform_table_id", False):
        return
    original = Table.describe

    def describe(self, base_key: str = "TableDescription"):
        results = original(self, base_key)
        results[base_key].setdefault("TableId", str(uuid.uuid5(_NAMESPACE, self.table_arn)))
        return results

    describe._org_platform_table_id = True
    Table.describe = describe
