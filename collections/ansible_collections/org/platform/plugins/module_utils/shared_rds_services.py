# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared RDS service list: validation and normalisation, before any SQL runs.

Plain Python, no Ansible: the ``shared_rds_services`` module and the unit tests call it. A service entry
from the inventory becomes a ``ServicePlan`` with everything the role needs (database, user, secret name,
privileges). Names end up as MySQL identifiers, so they are checked against a strict allow-list, never
escaped: a name that is not ``^[a-z][a-z0-9_]{0,26}$`` is refused with the reason.

In a database-level grant MySQL and MariaDB read ``_`` and ``%`` in the database name as wildcards
(``GRANT ... ON `ab_c`.*`` also covers ``abxc``), so every grant names its database with the wildcards escaped
(``ab\\_c``, see ``grant_database``). The role's settings that end up in SQL (character set and collation)
are checked here too, against a documented allow-list, so that no SQL is ever built from a value that could
carry syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from ansible_collections.org.platform.plugins.module_utils.constants import environment_name_problem
from ansible_collections.org.platform.plugins.module_utils.pure_module import PureModule
from ansible_collections.org.platform.plugins.module_utils.shared_rds_credentials import (
    PASSWORD_MIN_LENGTH,
    RECOVERY_WINDOW_RANGE,
)

# `<service>_user` must fit MySQL's 32-character user names, so a service name has at most 27.
SERVICE_NAME_MAX = 27
SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,26}$")
USER_SUFFIX = "_user"
SECRET_NAME_FORMAT = "/{environment}/{service}/db-credentials"  # noqa: S105 - a secret name, not a secret

# Schemas that belong to the server; a service may never be given one of them.
RESERVED_NAMES = frozenset({"mysql", "information_schema", "performance_schema", "sys", "innodb", "tmp"})

# The seed guide's grant, and the default for a service that does not say otherwise.
DEFAULT_PRIVILEGES: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "INDEX", "ALTER")

# Database-level privileges a service may ask for instead. Global or administrative ones (ALL, GRANT OPTION,
# SUPER, FILE, PROCESS, RELOAD, SHUTDOWN, CREATE USER, ...) are never allowed on the shared instance.
ALLOWED_PRIVILEGES: tuple[str, ...] = (
    *DEFAULT_PRIVILEGES,
    "REFERENCES",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "TRIGGER",
    "EVENT",
)

# Character sets a service database may use (the role's default is utf8mb4, SPEC M8). A collation must be
# ``<charset>_<suffix>`` with a lower-case identifier suffix (or ``binary`` for the binary set); the role then
# checks it against the server's information_schema.COLLATIONS before any ALTER DATABASE.
ALLOWED_CHARSETS: tuple[str, ...] = ("utf8mb4", "utf8mb3", "latin1", "ascii", "binary")
COLLATION_SUFFIX_RE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+){0,6}")
COLLATION_MAX = 64
PASSWORD_MAX_LENGTH = 4096  # Secrets Manager's limit is 65536 bytes; MySQL accepts far shorter passwords

STATES = ("present", "absent")
SERVICE_KEYS = frozenset({"name", "privileges", "rotate", "state", "confirm_drop"})


class ServiceListError(ValueError):
    """The service list is invalid; the message lists every problem found."""


@dataclass(frozen=True)
class ServicePlan:
    """One service, normalised: what the role creates (or, with state absent, removes) for it."""

    name: str
    database: str
    username: str
    secret_name: str
    privileges: list[str]
    rotate: bool
    state: str

    @property
    def grant_database(self) -> str:
        """The database as a grant names it: ``_`` and ``%`` escaped, so the grant matches this database only."""
        return escape_grant_wildcards(self.database)

    @property
    def priv(self) -> dict[str, str]:
        """The grant in community.mysql.mysql_user's ``priv`` form, on this database only (wildcards escaped)."""
        return {f"{self.grant_database}.*": ",".join(self.privileges)}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"priv": self.priv, "grant_database": self.grant_database}


def escape_grant_wildcards(database: str) -> str:
    r"""``database`` with the grant wildcards ``_`` and ``%`` (and the escape ``\`` itself) escaped.

    MySQL and MariaDB match the database of a database-level grant with LIKE semantics: unescaped, the grant on
    ``ab_c`` also covers ``abxc`` (read, write, create, drop) and lets ``ab_c``'s user create ``abyc``.
    ``SHOW GRANTS`` prints the escaped form, so grants compare equal when both sides are written this way.
    """
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def settings_problems(
    charset: Any, collation: Any, password_length: Any = None, recovery_window_days: Any = None
) -> list[str]:
    """Why the role's SQL-bound and secret settings cannot be used (empty when they can)."""
    problems: list[str] = []
    if not isinstance(charset, str) or charset not in ALLOWED_CHARSETS:
        problems.append(f"shared_rds_schemas_charset {charset!r} is not one of {', '.join(ALLOWED_CHARSETS)}")
    elif (
        not isinstance(collation, str)
        or len(collation) > COLLATION_MAX
        or not (
            collation == "binary" == charset
            or (collation.startswith(charset + "_") and COLLATION_SUFFIX_RE.fullmatch(collation[len(charset) + 1 :]))
        )
    ):
        problems.append(
            f"shared_rds_schemas_collation {collation!r} is not a collation of {charset} "
            f"(expected {charset}_<lower-case name>, e.g. utf8mb4_unicode_ci)"
        )
    if password_length is not None and (
        isinstance(password_length, bool)
        or not isinstance(password_length, int)
        or not PASSWORD_MIN_LENGTH <= password_length <= PASSWORD_MAX_LENGTH
    ):
        problems.append(
            f"shared_rds_schemas_password_length {password_length!r} must be an integer from "
            f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH}"
        )
    low, high = RECOVERY_WINDOW_RANGE
    if recovery_window_days is not None and (
        isinstance(recovery_window_days, bool)
        or not isinstance(recovery_window_days, int)
        or not low <= recovery_window_days <= high
    ):
        problems.append(
            f"shared_rds_schemas_secret_recovery_window_days {recovery_window_days!r} must be from {low} to {high} "
            "(what Secrets Manager accepts)"
        )
    return problems


def service_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a service name, or None when it can."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if name == "":
        return "must not be empty"
    if len(name) > SERVICE_NAME_MAX:
        return (
            f"is {len(name)} characters; at most {SERVICE_NAME_MAX} "
            f"(MySQL user names are limited to 32 and the user is '<service>{USER_SUFFIX}')"
        )
    if not SERVICE_NAME_RE.fullmatch(name):
        return "must match ^[a-z][a-z0-9_]{0,26}$ (lower-case letter first, then lower-case letters, digits, '_')"
    if name in RESERVED_NAMES:
        return "is a schema that belongs to the server"
    return None


def normalise_privileges(value: Any) -> tuple[list[str], list[str]]:
    """(privileges in canonical order, problems). ``None`` means the seed guide's default grant."""
    if value is None:
        return list(DEFAULT_PRIVILEGES), []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [], ["privileges must be a list of privilege names"]
    if not value:
        return [], ["privileges must not be empty (remove the key for the default grant)"]
    wanted: set[str] = set()
    problems: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            problems.append(f"privilege {raw!r} must be a string")
            continue
        privilege = " ".join(raw.upper().split())
        if privilege not in ALLOWED_PRIVILEGES:
            problems.append(
                f"privilege {raw!r} is not allowed; choose from {', '.join(ALLOWED_PRIVILEGES)} "
                "(global and administrative privileges are never granted to a service)"
            )
            continue
        wanted.add(privilege)
    return [p for p in ALLOWED_PRIVILEGES if p in wanted], problems


def plan_service(entry: Any, environment: str) -> tuple[ServicePlan | None, list[str]]:
    """Validate one entry of the service list; (plan, problems) with plan None when problems exist."""
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, Mapping):
        return None, [f"entry must be a mapping with at least 'name', not {type(entry).__name__}"]
    problems: list[str] = []
    unknown = sorted(str(key) for key in set(entry) - SERVICE_KEYS)
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(SERVICE_KEYS))}")
    name = entry.get("name")
    name_problem = service_name_problem(name)
    if name_problem:
        problems.append(f"name {name!r} {name_problem}")
    privileges, privilege_problems = normalise_privileges(entry.get("privileges"))
    problems += privilege_problems
    rotate = entry.get("rotate", False)
    if not isinstance(rotate, bool):
        problems.append(f"rotate must be true or false, not {rotate!r}")
    state = entry.get("state", "present")
    if state not in STATES:
        problems.append(f"state must be one of {', '.join(STATES)}, not {state!r}")
    confirm = entry.get("confirm_drop")
    if state == "absent":
        if confirm != name:
            problems.append(
                "state absent drops the database, its user and its secret; "
                f"confirm it with confirm_drop: {name} (the service's own name)"
            )
        if rotate is True:
            problems.append("rotate cannot be combined with state absent")
    elif confirm is not None:
        problems.append("confirm_drop is only meaningful with state: absent")
    if problems:
        return None, problems
    return (
        ServicePlan(
            name=name,
            database=name,
            username=f"{name}{USER_SUFFIX}",
            secret_name=SECRET_NAME_FORMAT.format(environment=environment, service=name),
            privileges=privileges,
            rotate=rotate,
            state=state,
        ),
        [],
    )


def plan_services(
    services: Any,
    environment: str,
    rotate: Sequence[str] = (),
    *,
    settings: Mapping[str, Any] | None = None,
) -> list[ServicePlan]:
    """Validate and normalise the whole list; raise ServiceListError naming every problem.

    ``rotate`` names services to rotate in this run on top of their own ``rotate: true`` (handy from
    extra vars or a survey); each must be a present service of the list. ``settings`` (``charset``,
    ``collation``, ``password_length``, ``recovery_window_days``) are checked with ``settings_problems``
    and reported in the same error. ``environment`` follows the collection's one rule (``constants.py``).
    """
    problem = environment_name_problem(environment)
    if problem:
        raise ServiceListError(f"invalid environment name: {problem}")
    if isinstance(rotate, str) or not isinstance(rotate, Sequence):
        raise ServiceListError("the services to rotate must be a list of service names")
    if services is None:
        services = []
    if isinstance(services, str | Mapping) or not isinstance(services, Sequence):
        raise ServiceListError("the service list must be a list of mappings such as {name: fileflow}")
    plans: list[ServicePlan] = []
    problems: list[str] = settings_problems(**settings) if settings is not None else []
    seen: set[str] = set()
    for index, entry in enumerate(services):
        plan, entry_problems = plan_service(entry, environment)
        label = f"service #{index + 1}"
        if (
            isinstance(entry, Mapping)
            and isinstance(entry.get("name"), str)
            and SERVICE_NAME_RE.fullmatch(entry["name"])
        ):
            label += f" ({entry['name']})"
        problems += [f"{label}: {problem}" for problem in entry_problems]
        if plan is None:
            continue
        if plan.name in seen:
            problems.append(f"{label}: {plan.name} is listed more than once")
            continue
        seen.add(plan.name)
        plans.append(plan)
    present = {plan.name for plan in plans if plan.state == "present"}
    problems += [
        f"rotation asked for {name!r}, which is not a present service of the list"
        for name in rotate
        if name not in present
    ]
    if problems:
        raise ServiceListError("invalid shared RDS service list or settings: " + "; ".join(problems))
    rotate_now = set(rotate)
    return [replace(plan, rotate=True) if plan.name in rotate_now else plan for plan in plans]


# The module, described once for its main() and its controller-side action plugin (module_utils/pure_module.py).
ARGUMENT_SPEC: dict[str, Any] = {
    "services": {"type": "list", "elements": "raw", "required": True},
    # `environment` like every module of the collection; `env` is the old name, kept as an alias.
    "environment": {"type": "str", "required": True, "aliases": ["env"]},
    "rotate": {"type": "list", "elements": "str", "default": []},
    "charset": {"type": "str", "default": "utf8mb4"},
    "collation": {"type": "str", "default": "utf8mb4_unicode_ci"},
    "password_length": {"type": "int", "no_log": False},
    "recovery_window_days": {"type": "int"},
}


def module_result(params: Mapping[str, Any]) -> dict[str, Any]:
    """The module's result for validated ``params``; raises ``ServiceListError`` naming every problem."""
    settings = {key: params[key] for key in ("charset", "collation", "password_length", "recovery_window_days")}
    plans = plan_services(params["services"], params["environment"], params["rotate"], settings=settings)
    return {
        "changed": False,
        "services": [plan.as_dict() for plan in plans],
        "charset": params["charset"],
        "collation": params["collation"],
    }


MODULE = PureModule(ARGUMENT_SPEC, module_result, (ServiceListError,))
