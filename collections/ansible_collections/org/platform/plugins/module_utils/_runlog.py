# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule every log writer of the collection follows (SPEC M10 / INFRA-004).

Plain Python, no Ansible. Every writer of a file under ``logs/`` (the run log callback, Terraform command logs,
the teardown audit, the Packer log) uses these helpers, so there is one way to do each of these things:

* **Time stamps** are UTC, ``%Y%m%dT%H%M%SZ`` (``utc_stamp``), e.g. ``20261202T070229Z``; lines inside a log use
  ISO 8601 with milliseconds and ``Z`` (``line_stamp``).
* **File names** are ``<stamp>-<run id>_<what>_<env>.log`` (``log_file_name``): the run id is 6 lowercase hex
  digits unique to the run, so two runs started in the same second never share a file; ``<what>`` (playbook,
  stack and action, ...) and ``<env>`` keep ``[A-Za-z0-9.-]`` (``<what>`` also ``_``), anything else becomes
  ``-``. ``parse_log_name`` reads a name back; names sort by time.
* **Permissions**: directories 0700 (``ensure_private_dir``), files 0600, created exclusively
  (``create_log_file``): a writer never appends to somebody else's file.
* **Redaction by value** (``Redactor``): it collects the values known to be secret (``add``) and masks every
  occurrence, plus known secret shapes (AWS secret access keys, passwords in URLs, RKE2 join tokens
  ``K10…``, bearer tokens, private key blocks), in every line; ``strip_ansi`` removes colour codes.
* **Retention** (``prune``): the newest N runs are kept and no file of the current UTC day is ever deleted;
  only files whose names follow the rule are considered.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MASK = "********"
MIN_SECRET_LENGTH = 4
# What masked values already look like (Ansible's no_log placeholder, the Terraform runner's mask): never secrets.
MASKED_VALUES = frozenset({"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "(sensitive value)", "********"})
FILE_MODE = 0o600
DIR_MODE = 0o700

_NAME_RE = re.compile(
    r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<run_id>[0-9a-f]{6})_(?P<what>[A-Za-z0-9._-]+)_(?P<env>[A-Za-z0-9.-]+)\.log$"
)
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_SECRET_NAME_RE = re.compile(
    r"passw(or)?d|passphrase|(^|_)pass($|_)|secret|token|private_?key|api_?key|credential|(^|_)pw($|_)",
    re.IGNORECASE,
)

# Known secret shapes: (name, pattern, group to mask or 0 for the whole match).
SECRET_SHAPES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "private key block",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        0,
    ),
    ("RKE2 token", re.compile(r"\bK10[0-9a-fA-F]{16,}::[^\s'\",;]+"), 0),
    ("password in URL", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@'\"]+:(?P<pw>[^\s/@'\"]+)@"), 1),
    ("bearer token", re.compile(r"\b[Bb]earer\s+(?P<tok>[A-Za-z0-9._~+/=-]{8,})"), 1),
    (
        "AWS secret access key (named)",
        re.compile(r"(?i)aws_?secret_?access_?key['\"]?\s*[:=]\s*['\"]?(?P<key>[A-Za-z0-9/+=]{16,})"),
        1,
    ),
    (
        # 40 base64 characters with upper case, lower case and a digit: an AWS secret access key; a git
        # SHA (lower-case hex) or a UUID does not match.
        "AWS secret access key",
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        0,
    ),
)


class RunLogError(Exception):
    """A log file or directory cannot be created; the message names the path and the reason."""


def utc_stamp(now: datetime | None = None) -> str:
    """The file-name time stamp: UTC, ``%Y%m%dT%H%M%SZ``."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP_FORMAT)


def line_stamp(now: datetime | None = None) -> str:
    """The in-line time stamp: ISO 8601 UTC with milliseconds, e.g. ``2026-12-02T07:02:29.123Z``."""
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return _secrets.token_hex(3)


def _safe_part(value: str, allow_underscore: bool) -> str:
    allowed = r"A-Za-z0-9._-" if allow_underscore else r"A-Za-z0-9.-"
    cleaned = re.sub(rf"[^{allowed}]+", "-", str(value)).strip("-")
    return cleaned or "unknown"


def log_file_name(what: str, env: str, stamp: str | None = None, run_id: str | None = None) -> str:
    """``<stamp>-<run id>_<what>_<env>.log``; unsafe characters of ``what``/``env`` become ``-``."""
    stamp = stamp or utc_stamp()
    run_id = run_id or new_run_id()
    if not re.fullmatch(r"\d{8}T\d{6}Z", stamp):
        raise ValueError(f"time stamp {stamp!r} is not in the {STAMP_FORMAT} format")
    if not re.fullmatch(r"[0-9a-f]{6}", run_id):
        raise ValueError(f"run id {run_id!r} is not 6 lowercase hex digits")
    return f"{stamp}-{run_id}_{_safe_part(what, True)}_{_safe_part(env, False)}.log"


@dataclass(frozen=True)
class LogName:
    stamp: str
    run_id: str
    what: str
    env: str

    @property
    def day(self) -> str:
        return self.stamp[:8]


def parse_log_name(name: str) -> LogName | None:
    """The parts of a file name that follows the rule; None for any other name."""
    match = _NAME_RE.match(name)
    return LogName(**match.groupdict()) if match else None


def ensure_private_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) with mode 0700; an existing directory is left as it is."""
    path = Path(path)
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise RunLogError(f"cannot create log directory {path}: {exc.strerror or exc}") from exc
    if not path.is_dir():
        raise RunLogError(f"log directory {path} is not a directory")
    return path


def create_log_file(directory: str | Path, what: str, env: str, now: datetime | None = None) -> tuple[Path, int]:
    """Create a new 0600 log file exclusively; returns its path and an open write descriptor."""
    directory = ensure_private_dir(directory)
    stamp = utc_stamp(now)
    for _attempt in range(20):
        path = directory / log_file_name(what, env, stamp)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, FILE_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunLogError(f"cannot create log file {path}: {exc.strerror or exc}") from exc
        return path, fd
    raise RunLogError(f"cannot find a free log file name in {directory}")


def write_private(path: str | Path, text: str) -> Path:
    """Write a whole 0600 file (replacing it), its directory 0700."""
    path = Path(path)
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


# Names about a secret rather than of one: db_secret_arn, master_secret_parameter, password_length, secret_tags.
_ABOUT_SECRET_RE = re.compile(
    r"(^|_)(names?|arns?|ids?|parameters?|length|days|files?|paths?|dir|tags|type|stage|version|prefix|policy|"
    r"rotate|rotation|recovery_window_days|description|kms_key_id)$",
    re.IGNORECASE,
)


def looks_secret_name(name: Any) -> bool:
    """Whether a variable, key or parameter name says its value is a secret (password, token, ...).

    Names that end in what describes a secret (``_name``, ``_arn``, ``_id``, ``_parameter``, ``_length``,
    ``_file``, ``_path``, ``_tags``, ...) are not secrets themselves.
    """
    return isinstance(name, str) and bool(_SECRET_NAME_RE.search(name)) and not _ABOUT_SECRET_RE.search(name)


def scalar_strings(value: Any) -> list[str]:
    """Every scalar inside ``value`` as a string (booleans and None are no secrets)."""
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in scalar_strings(item)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for item in value for s in scalar_strings(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def named_secret_values(value: Any) -> list[str]:
    """The values of keys that look secret, at any depth inside a mapping or list.

    A secret-named key's own value counts when it is a scalar or a list of scalars; under a secret-named key
    holding a mapping (``credentials: {username, password}``, ``db_password: {actions: [create]}``) only the
    secret-named keys count again, so structure words such as ``create`` are never taken for secrets.
    """
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if looks_secret_name(key) and not isinstance(item, Mapping):
                if isinstance(item, (list, tuple)):
                    found += [
                        s
                        for element in item
                        if not isinstance(element, (Mapping, list, tuple))
                        for s in scalar_strings(element)
                    ]
                    found += [
                        s
                        for element in item
                        if isinstance(element, (Mapping, list, tuple))
                        for s in named_secret_values(element)
                    ]
                else:
                    found += scalar_strings(item)
            else:
                found += named_secret_values(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += named_secret_values(item)
    return found


class Redactor:
    """Collects secret values and masks every occurrence of them, and of known secret shapes, in text.

    ``add`` takes any value (strings, numbers, nested dicts/lists: every scalar counts) and also remembers the
    forms a value takes once serialised (JSON-escaped, URL-encoded). Values shorter than ``min_length``
    (``MIN_SECRET_LENGTH``) characters are ignored: masking them would hide ordinary words. A writer that is told
    exactly which values are secret (Terraform's sensitive outputs) may lower it.
    """

    def __init__(self, values: Iterable[Any] = (), mask: str = MASK, min_length: int = MIN_SECRET_LENGTH):
        self.mask = mask
        self.min_length = max(1, int(min_length))
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: str) -> bool:
        return value in self._values

    def add(self, value: Any) -> None:
        for text in scalar_strings(value):
            if text in MASKED_VALUES:
                continue
            for form in (  # a form already added (several may be equal) is skipped below
                text,
                json.dumps(text)[1:-1],
                urllib.parse.quote(text, safe=""),
                urllib.parse.quote_plus(text),
            ):
                if len(form) >= self.min_length and form != self.mask and form not in self._values:
                    self._values.add(form)
                    self._pattern = None

    def add_named(self, value: Any) -> None:
        """Add the values under keys that look secret (``*password*``, ``*token*``, ...)."""
        for text in named_secret_values(value):
            self.add(text)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._values:
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return self._pattern

    def redact(self, text: str) -> str:
        """``text`` with every collected value and every known secret shape replaced by the mask."""
        if not text:
            return text
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(self.mask, text)
        for _name, shape, group in SECRET_SHAPES:
            text = shape.sub(lambda m, g=group: self._mask_group(m, g), text)
        return text

    def _mask_group(self, match: re.Match[str], group: int) -> str:
        if group == 0:
            return self.mask
        start, end = match.span(group)
        whole = match.group(0)
        offset = match.start(0)
        return whole[: start - offset] + self.mask + whole[end - offset :]

    def line(self, text: str) -> str:
        """One log line: colour codes removed, secrets masked, line breaks escaped."""
        return self.redact(strip_ansi(text)).replace("\r", "\\r").replace("\n", "\\n")


def prune(
    directory: str | Path, keep: int, now: datetime | None = None, protect: Iterable[str | Path] = ()
) -> list[Path]:
    """Delete the files of all but the newest ``keep`` runs in ``directory``; returns what was deleted.

    A run is one ``<stamp>-<run id>``. Files of the current UTC day, files in ``protect`` and files whose names do
    not follow the rule are never deleted. ``keep`` < 1 keeps everything.
    """
    directory = Path(directory)
    if keep < 1 or not directory.is_dir():
        return []
    today = utc_stamp(now)[:8]
    protected = {Path(p).name for p in protect}
    runs: dict[tuple[str, str], list[Path]] = {}
    for entry in directory.iterdir():
        name = parse_log_name(entry.name)
        if name and entry.is_file():
            runs.setdefault((name.stamp, name.run_id), []).append(entry)
    deleted: list[Path] = []
    for (stamp, _run_id), files in sorted(runs.items(), reverse=True)[keep:]:
        if stamp[:8] >= today:
            continue
        for path in files:
            if path.name in protected:
                continue
            try:
                path.unlink()
                deleted.append(path)
            except FileNotFoundError:
                pass
    return deleted


def parse_s3_target(target: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at the ends); a clear error otherwise."""
    parsed = urllib.parse.urlparse(target or "")
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"upload target {target!r} is not of the form s3://bucket/prefix")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", parsed.netloc):
        raise ValueError(f"upload target {target!r}: {parsed.netloc!r} is not a valid S3 bucket name")
    return parsed.netloc, parsed.path.strip("/")


def upload_files(
    s3_client: Any, target: str, files: Iterable[tuple[str, str | Path]], kms_key_id: str = ""
) -> list[str]:
    """Upload ``(area, path)`` files to ``s3://bucket/prefix/<area>/<file name>`` with SSE-KMS; returns the keys."""
    bucket, prefix = parse_s3_target(target)
    keys = []
    extra: dict[str, str] = {"ServerSideEncryption": "aws:kms"}
    if kms_key_id:
        extra["SSEKMSKeyId"] = kms_key_id
    for area, path in files:
        key = "/".join(part for part in (prefix, area, Path(path).name) if part)
        with open(path, "rb") as body:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain; charset=utf-8", **extra)
        keys.append(key)
    return keys
