# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one AWS idiom of the collection: every module that calls AWS directly goes through here.

* **Retries**: botocore's ``standard`` retry mode (``RETRY_MODE``), configured once by ``aws_config``:
  exponential backoff with full jitter on throttling and transient errors, a retry quota, the same
  behaviour as every AWS SDK (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
  It was chosen over ``AWSRetry.jittered_backoff`` because it retries inside the client, so paginators and
  waiters are retried page by page, and because its decision can be observed and bounded:
  ``CallCounter.attach`` wraps botocore's own ``needs-retry`` handler to count every attempt, every error
  code and every retry, to cap each backoff sleep, and to stop retrying when a caller's ``Deadline`` has
  passed. ``adaptive`` mode was not chosen: its client-side rate limiter would throttle the cleanup's
  workers before AWS does.
* **Pagination**: ``paginate`` is botocore's paginator (``build_full_result``), never a ``NextToken`` loop.
* **Error codes**: ``is_error`` and ``error_code`` read them through amazon.aws's ``is_boto3_error_code``.
* **Tags**: amazon.aws's tagging helpers, re-exported here.
* **Failing a module**: ``fail_json_aws_from`` passes a domain exception's botocore cause to
  ``module.fail_json_aws`` so the AWS error code reaches the task result (``result.error.code``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

# The house tag helpers: the modules' code imports them from here (a re-export).
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: F401 # pylint: disable=unused-import
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

try:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.retries import standard as _standard_retries
except ImportError:  # pragma: no cover - AnsibleAWSModule reports a missing botocore
    Config = None  # type: ignore[assignment,misc]
    BotoCoreError = ClientError = Exception  # type: ignore[assignment,misc]
    _standard_retries = None  # type: ignore[assignment]

RETRY_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 10  # attempts per call, the first one included
DEFAULT_MAX_BACKOFF_S = 20.0  # botocore's own cap for the standard mode
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled"}
)
AWS_ERRORS = (ClientError, BotoCoreError)
# A bucket that does not exist: HeadBucket has no body, so it answers with the bare HTTP status; other S3 calls
# say NoSuchBucket.
BUCKET_MISSING_CODES = ("404", "NoSuchBucket", "NotFound")


class DeadlineExceeded(Exception):
    """The caller's global deadline passed; no further attempt is made."""


class Deadline:
    """A monotonic end time shared by every wait and retry of one run."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded("global deadline exceeded")

    def bound(self, seconds: float) -> float:
        """The monotonic end of a wait of ``seconds``, never past the global deadline."""
        return min(time.monotonic() + seconds, self.end)


def aws_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS, max_pool_connections: int | None = None) -> Any:
    """The botocore ``Config`` every client of the collection is created with."""
    settings: dict[str, Any] = {"retries": {"mode": RETRY_MODE, "total_max_attempts": max_attempts}}
    if max_pool_connections:
        settings["max_pool_connections"] = max_pool_connections
    return Config(**settings)


def module_client(module: Any, service: str, max_attempts: int = DEFAULT_MAX_ATTEMPTS, **config: Any) -> Any:
    """``module.client(service)`` (an ``AnsibleAWSModule``) with the house retry configuration."""
    return module.client(service, config=aws_config(max_attempts, **config))


def error_code(exc: BaseException | None) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_error(exc: BaseException | None, *codes: str) -> bool:
    """True when ``exc`` is a ``ClientError`` with one of ``codes`` (amazon.aws's ``is_boto3_error_code``)."""
    return exc is not None and isinstance(exc, is_boto3_error_code(list(codes), e=exc))


def paginate(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Every page of ``operation`` merged (botocore paginator)."""
    return client.get_paginator(operation).paginate(**kwargs).build_full_result()


def fail_json_aws_from(module: Any, exc: BaseException, **result: Any) -> None:
    """Fail the module with ``str(exc)``; when a botocore error caused it, through ``fail_json_aws``."""
    cause = exc.__cause__
    if isinstance(cause, AWS_ERRORS):
        module.fail_json_aws(cause, msg=str(exc), **result)
    module.fail_json(msg=str(exc), **result)


class CallCounter:
    """Counts attempts, retries and error codes of the clients it is attached to; bounds their retries.

    Whatever retry mode a client was created with (a user's ``aws_config`` included), ``attach`` gives it
    botocore's ``standard`` handler, so one policy applies to every client of the collection.

    ``attach`` replaces botocore's ``needs-retry`` handler of the standard mode by a wrapper around the very
    same handler: botocore still decides whether and how long to back off; the wrapper counts, caps the
    sleep at ``max_backoff_s`` and at what is left of ``deadline``, and raises ``DeadlineExceeded`` instead
    of retrying once the deadline has passed.
    """

    def __init__(self, deadline: Deadline | None = None, max_backoff_s: float = DEFAULT_MAX_BACKOFF_S):
        self.deadline = deadline
        self.max_backoff_s = max_backoff_s
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.retries = 0

    def attach(self, client: Any, service: str, max_attempts: int | None = None) -> Any:
        """Count and bound ``client`` (``max_attempts``: attempts per call, default the client's own setting)."""
        retries = client.meta.config.retries or {}
        attempts = max_attempts or retries.get("total_max_attempts") or (retries.get("max_attempts", 2) + 1)
        event_id = client.meta.service_model.service_id.hyphenize()
        unique_id = f"retry-config-{event_id}"
        events = client.meta.events
        events.unregister(f"needs-retry.{event_id}", unique_id=unique_id)
        handler = _standard_retries.register_retry_handler(client, max_attempts=attempts)
        events.unregister(f"needs-retry.{event_id}", unique_id=unique_id)
        events.register(f"needs-retry.{event_id}", self._wrap(handler.needs_retry, service), unique_id=unique_id)
        events.register(f"before-call.{event_id}", self._before_call)
        return client

    def check_deadline(self) -> None:
        """DeadlineExceeded once the deadline has passed (before any call, and before every retry)."""
        if self.deadline is not None:
            self.deadline.check()

    def _before_call(self, **_kwargs: Any) -> None:
        self.check_deadline()

    def _wrap(self, needs_retry: Callable[..., Any], service: str) -> Callable[..., Any]:
        from botocore import xform_name

        def counted(**kwargs: Any) -> Any:
            response = kwargs.get("response")
            parsed = response[1] if response else {}
            code = (parsed.get("Error") or {}).get("Code", "") if isinstance(parsed, dict) else ""
            with self._lock:
                self.calls[f"{service}:{xform_name(kwargs['operation'].name)}"] += 1
                if code:
                    self.errors[code] += 1
            delay = needs_retry(**kwargs)
            if delay is None or delay is False:
                return delay
            if self.deadline is not None:
                self.deadline.check()
                delay = min(delay, max(0.0, self.deadline.remaining()))
            with self._lock:
                self.retries += 1
            return min(delay, self.max_backoff_s)

        return counted

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "api_calls": sum(self.calls.values()),
                "api_calls_by_operation": dict(sorted(self.calls.items())),
                "retries": self.retries,
                "throttled": sum(n for code, n in self.errors.items() if code in THROTTLING_CODES),
                "dependency_violations": self.errors.get("DependencyViolation", 0),
                "errors_by_code": dict(sorted(self.errors.items())),
            }
