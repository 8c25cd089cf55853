# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/shared_rds_services: the service list is validated before any SQL runs."""

from __future__ import annotations

import pytest
from ansible_collections.org.platform.plugins.module_utils.constants import environment_name_problem
from ansible_collections.org.platform.plugins.module_utils.shared_rds_services import (
    DEFAULT_PRIVILEGES,
    ServiceListError,
    escape_grant_wildcards,
    plan_services,
    service_name_problem,
    settings_problems,
)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("fileflow", None),
        ("a", None),
        ("auth_hub2", None),
        ("x" * 27, None),
        ("x" * 28, "at most 27"),
        ("x" * 65, "at most 27"),
        ("", "must not be empty"),
        ("a;b", "must match"),
        ("x' OR '1'='1", "must match"),
        ("dev\n", "must match"),
        ("x'or'1", "must match"),
        ("FileFlow", "must match"),
        ("fileflow-api", "must match"),
        ("1service", "must match"),
        ("_service", "must match"),
        ("file flow", "must match"),
        ("file`flow", "must match"),
        ("fileflow\n", "must match"),
        ("mysql", "belongs to the server"),
        ("sys", "belongs to the server"),
        ("information_schema", "belongs to the server"),
        (None, "must be a string"),
        (42, "must be a string"),
    ],
)
def test_service_name_rule(name, problem):
    found = service_name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_plan_defaults_follow_the_seed_guide():
    (plan,) = plan_services([{"name": "fileflow"}], "dev")
    assert plan.database == "fileflow"
    assert plan.username == "fileflow_user"
    assert plan.secret_name == "/dev/fileflow/db-credentials"
    assert plan.privileges == list(DEFAULT_PRIVILEGES)
    assert plan.priv == {"fileflow.*": "SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER"}
    assert (plan.rotate, plan.state) == (False, "present")
    assert plan.as_dict()["priv"] == plan.priv


def test_plan_accepts_a_plain_name_and_keeps_order():
    plans = plan_services(["crawler", {"name": "authhub"}], "stg")
    assert [p.name for p in plans] == ["crawler", "authhub"]


@pytest.mark.parametrize(
    ("privileges", "expected"),
    [
        (["select", "insert"], ["SELECT", "INSERT"]),
        (["INSERT", "SELECT", "select"], ["SELECT", "INSERT"]),
        (["show  view", "Create View"], ["CREATE VIEW", "SHOW VIEW"]),
        (["TRIGGER", "ALTER"], ["ALTER", "TRIGGER"]),
    ],
)
def test_privileges_are_normalised(privileges, expected):
    (plan,) = plan_services([{"name": "authhub", "privileges": privileges}], "dev")
    assert plan.privileges == expected


@pytest.mark.parametrize(
    ("privileges", "problem"),
    [
        (["ALL"], "not allowed"),
        (["ALL PRIVILEGES"], "not allowed"),
        (["SELECT", "GRANT OPTION"], "not allowed"),
        (["SUPER"], "not allowed"),
        (["FILE"], "not allowed"),
        (["CREATE USER"], "not allowed"),
        (["SELECT; DROP DATABASE mysql"], "not allowed"),
        ([], "must not be empty"),
        ("SELECT", "must be a list"),
        ([7], "must be a string"),
    ],
)
def test_dangerous_or_malformed_privileges_are_refused(privileges, problem):
    with pytest.raises(ServiceListError, match=problem):
        plan_services([{"name": "authhub", "privileges": privileges}], "dev")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "fileflow", "rotate": "yes"}, "rotate must be true or false"),
        ({"name": "fileflow", "rotate": 1}, "rotate must be true or false"),
        ({"name": "fileflow", "state": "dropped"}, "state must be one of"),
        ({"name": "fileflow", "state": "absent"}, "confirm_drop: fileflow"),
        ({"name": "fileflow", "state": "absent", "confirm_drop": "yes"}, "confirm_drop: fileflow"),
        ({"name": "fileflow", "state": "absent", "confirm_drop": "fileflow", "rotate": True}, "rotate cannot"),
        ({"name": "fileflow", "confirm_drop": "fileflow"}, "only meaningful with state: absent"),
        ({"name": "fileflow", "rotat": True}, "unknown keys rotat"),
        ({"nam": "fileflow"}, "unknown keys nam"),
        (["fileflow"], "entry must be a mapping"),
    ],
)
def test_malformed_entries_are_refused(entry, problem):
    with pytest.raises(ServiceListError, match=problem):
        plan_services([entry], "dev")


def test_absent_needs_and_accepts_its_own_name():
    (plan,) = plan_services([{"name": "crawler", "state": "absent", "confirm_drop": "crawler"}], "dev")
    assert plan.state == "absent"


def test_every_problem_is_reported_at_once():
    with pytest.raises(ServiceListError) as excinfo:
        plan_services([{"name": "a;b"}, {"name": ""}, {"name": "ok"}, {"name": "ok"}], "dev")
    message = str(excinfo.value)
    assert "service #1" in message
    assert "service #2" in message
    assert "service #4 (ok): ok is listed more than once" in message


@pytest.mark.parametrize("services", ["fileflow", {"name": "fileflow"}, 5])
def test_the_list_must_be_a_list(services):
    with pytest.raises(ServiceListError, match="must be a list"):
        plan_services(services, "dev")


def test_no_services_is_an_empty_plan():
    assert plan_services(None, "dev") == []
    assert plan_services([], "dev") == []


# The collection's one environment rule (constants.py): at most 32 characters, like terraform_stacks.
@pytest.mark.parametrize("env", ["", "dev\n", "Dev", "dev/x", "a" * 33, None, "../prod", "1dev"])
def test_environment_name_is_checked(env):
    with pytest.raises(ServiceListError, match=r"environment name.*lower-case letters, digits and '-'"):
        plan_services([{"name": "fileflow"}], env)


def test_environment_rule_is_the_collections_one():
    longest = "a" * 32
    assert environment_name_problem(longest) is None
    assert plan_services([{"name": "fileflow"}], longest)[0].secret_name == f"/{longest}/fileflow/db-credentials"


def test_rotation_list_marks_services_and_must_name_present_ones():
    plans = plan_services([{"name": "fileflow"}, {"name": "crawler"}], "dev", rotate=["crawler"])
    assert {p.name: p.rotate for p in plans} == {"fileflow": False, "crawler": True}
    with pytest.raises(ServiceListError, match="rotation asked for 'authhub'"):
        plan_services([{"name": "fileflow"}], "dev", rotate=["authhub"])
    with pytest.raises(ServiceListError, match="rotation asked for 'crawler'"):
        plan_services([{"name": "crawler", "state": "absent", "confirm_drop": "crawler"}], "dev", rotate=["crawler"])
    with pytest.raises(ServiceListError, match="list of service names"):
        plan_services([{"name": "fileflow"}], "dev", rotate="fileflow")


# Issue 9, item 1: `_` and `%` are LIKE wildcards in a database-level grant; every grant escapes them.
@pytest.mark.parametrize(
    ("database", "escaped"),
    [("fileflow", "fileflow"), ("ab_c", "ab\\_c"), ("a_b_c", "a\\_b\\_c"), ("a%b", "a\\%b"), ("a\\b", "a\\\\b")],
)
def test_grant_wildcards_are_escaped(database, escaped):
    assert escape_grant_wildcards(database) == escaped


def test_grant_names_only_its_own_database():
    (plan,) = plan_services([{"name": "ab_c"}], "dev")
    assert plan.database == "ab_c"
    assert plan.grant_database == "ab\\_c"
    assert plan.priv == {"ab\\_c.*": "SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER"}
    assert plan.as_dict()["priv"] == {"ab\\_c.*": "SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER"}


# Issue 9, items 2 and 9: the settings that reach SQL or Secrets Manager are refused by the (visible) validation.
@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}, None),
        ({"charset": "utf8mb4", "collation": "utf8mb4_0900_ai_ci"}, None),
        ({"charset": "latin1", "collation": "latin1_swedish_ci"}, None),
        ({"charset": "binary", "collation": "binary"}, None),
        ({"charset": "utf8mb4 COMMENT 'x' -- ", "collation": "utf8mb4_unicode_ci"}, "shared_rds_schemas_charset"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_bin COMMENT 'x' -- "}, "shared_rds_schemas_collation"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_bin;DROP DATABASE mysql"}, "shared_rds_schemas_collation"),
        ({"charset": "utf8mb4", "collation": "latin1_swedish_ci"}, "not a collation of utf8mb4"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci\n"}, "shared_rds_schemas_collation"),
        ({"charset": "UTF8MB4", "collation": "utf8mb4_unicode_ci"}, "shared_rds_schemas_charset"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "password_length": 8}, "password_length 8"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "password_length": 32}, None),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "password_length": 10**6}, "password_length"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "recovery_window_days": 3}, "7 to 30"),
        ({"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci", "recovery_window_days": 30}, None),
    ],
)
def test_settings_rule(settings, problem):
    problems = settings_problems(**settings)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in found for found in problems), problems


def test_settings_problems_are_reported_with_the_list():
    with pytest.raises(ServiceListError) as error:
        plan_services(
            [{"name": "Bad"}],
            "dev",
            settings={"charset": "utf8mb4 COMMENT 'x' -- ", "collation": "x", "password_length": 8},
        )
    message = str(error.value)
    assert "shared_rds_schemas_charset" in message
    assert "password_length 8" in message
    assert "name 'Bad'" in message
