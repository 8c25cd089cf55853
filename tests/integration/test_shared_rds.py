# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/shared_rds.yml (through sandbox/shared_rds.yml; role org.platform.shared_rds_schemas) against the sandbox's MariaDB and AWS emulator.

Check mode -> apply -> rerun is a no-op -> rotation -> check mode again; hostile names stop the run before any
SQL; an interrupted rotation is finished; removal needs confirmation. Every run's console output and every file
under logs/ is searched for every password the run handled.
"""

from __future__ import annotations

import json
import re
import time

import boto3
import pymysql
import pytest

from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=290)]

PLAYBOOK = "sandbox/shared_rds.yml"  # the exports the sandbox stands in for, then playbooks/shared_rds.yml
INVENTORY = "inventories/sandbox"
PREFIX = "srt_"  # every database and user these tests create starts with it
SEED_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER"
RECAP_RE = re.compile(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
ACCESS_DENIED = 1045
# MariaDB refuses a login with 1045, or with 1698 (ER_ACCESS_DENIED_NO_PASSWORD_ERROR) for an account that
# no longer exists, depending on the server's state: both are the server refusing the credentials.
ACCESS_DENIED_CODES = {ACCESS_DENIED, 1698}


def secret_name(service: str) -> str:
    return f"/sandbox/{service}/db-credentials"


class Harness:
    """Runs the playbook against the test's private sandbox and remembers everything it must not leak."""

    def __init__(self, aws, playbook):
        self.aws = aws
        self.playbook = playbook
        self.secrets = boto3.client("secretsmanager", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
        self.ssm = boto3.client("ssm", region_name=aws.region, endpoint_url=aws.aws_endpoint_url)
        self.runs = []
        self.passwords: set[str] = {aws.mysql_admin_password}
        self.started = time.time()

    def run(
        self, services, *, check: bool = False, rotate=(), expect_rc: int | None = 0, extra=None, playbook=PLAYBOOK
    ):
        extra_vars = {"shared_rds_services": services, "shared_rds_rotate": list(rotate)} | (extra or {})
        result = self.playbook(
            playbook,
            inventory=INVENTORY,
            extra_vars=extra_vars,
            check=check,
            env={"ORG_PLATFORM_SANDBOX_DIR": str(self.aws.state_dir)},
            timeout=300,
        )
        self.runs.append(result)
        if expect_rc is not None:
            assert result.rc == expect_rc, result.output[-6000:]
        return result

    @staticmethod
    def recap(result) -> dict[str, int]:
        match = RECAP_RE.search(result.stdout)
        assert match, result.output[-3000:]
        return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))

    def credentials(self, service: str, stage: str = "AWSCURRENT") -> dict:
        value = self.secrets.get_secret_value(SecretId=secret_name(service), VersionStage=stage)
        document = json.loads(value["SecretString"])
        self.passwords.add(document["password"])
        return document

    def stages(self, service: str) -> set[str]:
        versions = self.secrets.list_secret_version_ids(SecretId=secret_name(service))["Versions"]
        return {stage for version in versions for stage in version["VersionStages"]}

    def secret_exists(self, service: str) -> bool:
        try:
            self.secrets.describe_secret(SecretId=secret_name(service))
        except self.secrets.exceptions.ResourceNotFoundException:
            return False
        return True

    def assert_nothing_leaked(self) -> None:
        """No password handled by any run appears in its console output or in any log written meanwhile."""
        assert self.runs, "nothing ran"
        written = "\n".join(run.output for run in self.runs)
        logs = REPO_ROOT / "logs"
        files = [p for p in logs.rglob("*") if p.is_file() and p.stat().st_mtime >= self.started - 1]
        for path in files:
            written += "\n" + path.read_text(errors="replace")
        for password in self.passwords:
            assert len(password) >= 16
            assert password not in written, "a password appears in the run's output or logs"


def admin(aws, database: str | None = None):
    return pymysql.connect(
        host=aws.mysql_host,
        port=aws.mysql_port,
        user=aws.mysql_admin_user,
        password=aws.mysql_admin_password,
        database=database,
        connect_timeout=5,
        autocommit=True,
    )


def login(aws, user: str, password: str, database: str | None = None):
    return pymysql.connect(
        host=aws.mysql_host,
        port=aws.mysql_port,
        user=user,
        password=password,
        database=database,
        connect_timeout=5,
        autocommit=True,
    )


# Client-side connection errors (can't connect, lost connection, handshake timeout): no answer about
# the credentials yet, so ask again rather than read them as "login did not fail".
CONNECTION_ERRORS = {2003, 2006, 2013}


def login_fails(aws, user: str, password: str, attempts: int = 3) -> bool:
    """True only when the server refuses the credentials (an access-denied error)."""
    for attempt in range(attempts):
        try:
            login(aws, user, password).close()
        except pymysql.err.OperationalError as exc:
            if exc.args[0] in CONNECTION_ERRORS and attempt + 1 < attempts:
                continue
            return exc.args[0] in ACCESS_DENIED_CODES
        return False
    return False


def query(aws, sql: str, args=None) -> list[tuple]:
    with admin(aws) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def databases(aws) -> set[str]:
    return {row[0] for row in query(aws, "SHOW DATABASES")}


def users(aws) -> set[str]:
    return {row[0] for row in query(aws, "SELECT User FROM mysql.user WHERE User LIKE %s", (PREFIX + "%",))}


def grants(aws, user: str) -> list[str]:
    rows = [row[0] for row in query(aws, f"SHOW GRANTS FOR '{user}'@'%'")]
    return [re.sub(r" IDENTIFIED BY PASSWORD '[^']*'", "", row) for row in rows]


def drop_test_objects(aws) -> None:
    with admin(aws) as conn, conn.cursor() as cur:
        for name in databases(aws):
            if name.startswith(PREFIX):
                cur.execute(f"DROP DATABASE `{name}`")
        for user in users(aws):
            cur.execute(f"DROP USER '{user}'@'%'")


def task_section(output: str, task_name: str) -> str:
    """The console lines of one task (from its header to the next header)."""
    start = output.index(f": {task_name}")
    end = output.find("\nTASK [", start)
    return output[start : end if end != -1 else None]


@pytest.fixture
def harness(aws, playbook):
    drop_test_objects(aws)
    harness = Harness(aws, playbook)
    try:
        yield harness
    finally:
        drop_test_objects(aws)


def test_check_apply_rerun_rotate(harness, aws):
    services = [{"name": "srt_alpha"}, {"name": "srt_beta", "privileges": ["SELECT", "INSERT"]}]

    # srt_beta's database exists beforehand with another character set: the role converts it.
    query(aws, "CREATE DATABASE srt_beta CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    charset_sql = "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='srt_beta'"

    # Check mode predicts every creation and the conversion, and changes nothing.
    predicted = harness.run(services, check=True)
    assert "SIMULATED: the 60-db exports" in predicted.stdout
    assert harness.recap(predicted)["changed"] > 0
    # One mysql_db run for the databases that do not exist: srt_alpha (srt_beta exists, in latin1).
    creation = task_section(predicted.stdout, "Create the databases that do not exist yet: srt_alpha")
    assert "changed: [localhost]" in creation
    conversion = task_section(predicted.stdout, "Predict the character set change in check mode")
    assert "changed: [localhost] => (item=srt_beta)" in conversion
    staging = task_section(predicted.stdout, "Stage the credentials in Secrets Manager for srt_alpha")
    assert "changed: [localhost]" in staging
    assert "srt_alpha" not in databases(aws)
    assert query(aws, charset_sql) == [("latin1",)]
    assert users(aws) == set()
    assert not harness.secret_exists("srt_alpha")
    assert not harness.secret_exists("srt_beta")

    # Apply: databases in utf8mb4, users with exactly their grants, secrets that log in.
    applied = harness.run(services)
    assert harness.recap(applied)["changed"] > 0
    rows = query(
        aws,
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME LIKE %s ORDER BY SCHEMA_NAME",
        (PREFIX + "%",),
    )
    assert rows == [("srt_alpha", "utf8mb4", "utf8mb4_unicode_ci"), ("srt_beta", "utf8mb4", "utf8mb4_unicode_ci")]
    assert grants(aws, "srt_alpha_user") == [
        "GRANT USAGE ON *.* TO `srt_alpha_user`@`%`",
        f"GRANT {SEED_PRIVILEGES} ON `srt\\_alpha`.* TO `srt_alpha_user`@`%`",
    ]
    assert grants(aws, "srt_beta_user") == [
        "GRANT USAGE ON *.* TO `srt_beta_user`@`%`",
        "GRANT SELECT, INSERT ON `srt\\_beta`.* TO `srt_beta_user`@`%`",
    ]
    alpha, beta = harness.credentials("srt_alpha"), harness.credentials("srt_beta")
    assert set(alpha) == {"username", "password", "database", "host", "port"}
    assert (alpha["username"], alpha["database"]) == ("srt_alpha_user", "srt_alpha")
    assert (alpha["host"], alpha["port"]) == (aws.mysql_host, aws.mysql_port)
    assert len(alpha["password"]) >= 32
    assert len(beta["password"]) >= 32
    assert alpha["password"] != beta["password"]
    kms_key_arn = harness.ssm.get_parameter(Name="/shared/kms/secrets-manager-key-arn")["Parameter"]["Value"]
    described = harness.secrets.describe_secret(SecretId=secret_name("srt_alpha"))
    assert described["KmsKeyId"] == kms_key_arn
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags["Service"] == "srt_alpha"
    assert tags["Environment"] == "sandbox"
    assert tags["ManagedBy"] == "ansible"

    with login(aws, "srt_alpha_user", alpha["password"], "srt_alpha") as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE private_data (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO private_data VALUES (1)")
    with login(aws, "srt_beta_user", beta["password"]) as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES")
        assert {row[0] for row in cur.fetchall()} == {"information_schema", "srt_beta"}
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("SELECT * FROM srt_alpha.private_data")
        assert denied.value.args[0] in (1044, 1142)
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("CREATE TABLE srt_beta.t (id INT)")  # beta has SELECT, INSERT only

    # Rerun: nothing changes, passwords are kept.
    rerun = harness.run(services)
    assert harness.recap(rerun)["changed"] == 0, rerun.stdout[-4000:]
    assert harness.credentials("srt_alpha")["password"] == alpha["password"]
    assert harness.credentials("srt_beta")["password"] == beta["password"]

    # Rotation of one service: MySQL and the secret move together; the other service is untouched.
    rotated = harness.run(services, rotate=["srt_alpha"])
    assert harness.recap(rotated)["changed"] > 0
    new_alpha = harness.credentials("srt_alpha")
    assert new_alpha["password"] != alpha["password"]
    assert len(new_alpha["password"]) >= 32
    assert "AWSPENDING" not in harness.stages("srt_alpha")
    assert harness.credentials("srt_alpha", "AWSPREVIOUS")["password"] == alpha["password"]
    login(aws, "srt_alpha_user", new_alpha["password"], "srt_alpha").close()
    assert login_fails(aws, "srt_alpha_user", alpha["password"])
    assert harness.credentials("srt_beta")["password"] == beta["password"]
    login(aws, "srt_beta_user", beta["password"], "srt_beta").close()

    # Check mode with a rotation asked predicts it and changes nothing.
    predicted_rotation = harness.run(services, check=True, rotate=["srt_beta"])
    assert harness.recap(predicted_rotation)["changed"] > 0
    assert harness.credentials("srt_beta")["password"] == beta["password"]
    assert "AWSPENDING" not in harness.stages("srt_beta")
    login(aws, "srt_beta_user", beta["password"], "srt_beta").close()

    harness.assert_nothing_leaked()


def test_underscore_is_not_a_wildcard_in_grants(harness, aws):
    """Issue 9 item 1: two services whose names differ only where `_` stands cannot reach each other's database."""
    services = [{"name": "srt_ab_c"}, {"name": "srt_abxc"}]
    harness.run(services)
    assert grants(aws, "srt_ab_c_user")[1] == f"GRANT {SEED_PRIVILEGES} ON `srt\\_ab\\_c`.* TO `srt_ab_c_user`@`%`"
    assert grants(aws, "srt_abxc_user")[1] == f"GRANT {SEED_PRIVILEGES} ON `srt\\_abxc`.* TO `srt_abxc_user`@`%`"
    # Grants are compared in the same escaped form: a rerun changes nothing.
    assert harness.recap(harness.run(services))["changed"] == 0
    creds = {name: harness.credentials(name) for name in ("srt_ab_c", "srt_abxc")}
    for own, other in (("srt_ab_c", "srt_abxc"), ("srt_abxc", "srt_ab_c")):
        with login(aws, f"{own}_user", creds[own]["password"]) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE `{own}`.mine (id INT)")  # its own database works
            cur.execute(f"DROP TABLE `{own}`.mine")
            cur.execute("SHOW DATABASES")
            assert {row[0] for row in cur.fetchall()} == {"information_schema", own}
            for statement in (
                f"USE `{other}`",
                f"CREATE TABLE `{other}`.squat (id INT)",
                f"DROP DATABASE `{other}`",
            ):
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(statement)
                assert denied.value.args[0] in (1044, 1142), statement
        assert other in databases(aws)
    # Nor can the user of srt_ab_c create a database its unescaped grant would have matched (squatting).
    with login(aws, "srt_ab_c_user", creds["srt_ab_c"]["password"]) as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("CREATE DATABASE `srt_abyc`")
        assert denied.value.args[0] == 1044
    assert "srt_abyc" not in databases(aws)
    harness.assert_nothing_leaked()


def test_charset_and_collation_cannot_carry_sql(harness, aws):
    """Issue 9 item 2: charset/collation are checked (allow-list, then the server's COLLATIONS) before any SQL."""
    query(aws, "CREATE DATABASE srt_inj CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    comment_sql = (
        "SELECT DEFAULT_CHARACTER_SET_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='srt_inj'"
    )
    injected = harness.run(
        [{"name": "srt_inj"}], expect_rc=None, extra={"shared_rds_schemas_charset": "utf8mb4 COMMENT 'x' -- "}
    )
    assert injected.rc != 0
    assert "shared_rds_schemas_charset" in injected.output
    assert "is not one of utf8mb4, utf8mb3" in injected.output
    assert query(aws, comment_sql) == [("latin1", "")]
    assert not harness.secret_exists("srt_inj")

    injected = harness.run(
        [{"name": "srt_inj"}], expect_rc=None, extra={"shared_rds_schemas_collation": "utf8mb4_bin COMMENT 'x' -- "}
    )
    assert injected.rc != 0
    assert "shared_rds_schemas_collation" in injected.output
    assert query(aws, comment_sql) == [("latin1", "")]

    # Shaped like a collation but not one the server has: refused by the server check, before any database.
    unknown = harness.run(
        [{"name": "srt_inj"}, {"name": "srt_new"}],
        expect_rc=None,
        extra={"shared_rds_schemas_collation": "utf8mb4_klingon_ci"},
    )
    assert unknown.rc != 0
    assert "has no collation utf8mb4_klingon_ci" in unknown.output
    assert "srt_new" not in databases(aws)
    assert query(aws, comment_sql) == [("latin1", "")]
    harness.assert_nothing_leaked()


def test_password_length_refusal_is_visible(harness, aws):
    """Issue 9 item 9: a non-secret input is validated in a task that is not no_log, so its message shows."""
    result = harness.run([{"name": "srt_short"}], expect_rc=None, extra={"shared_rds_schemas_password_length": 8})
    assert result.rc != 0
    assert "shared_rds_schemas_password_length 8 must be an integer from 32" in result.output
    assert "srt_short" not in databases(aws)
    assert not harness.secret_exists("srt_short")
    assert "Publish what the real 60-db" not in result.stdout, "refused before the sandbox stand-ins changed anything"


HOSTILE_NAMES = ["a;b", "x' OR '1'='1", "a" * 65, "FileFlow", ""]


def test_hostile_names_are_rejected_before_any_sql(harness, aws):
    # One run with every hostile name beside a valid one: each is named in the refusal and nothing is created,
    # not even the valid service (module_utils' unit tests refuse each name on its own).
    before_databases, before_users = databases(aws), users(aws)
    result = harness.run([{"name": "srt_fine"}] + [{"name": name} for name in HOSTILE_NAMES], expect_rc=None)
    assert result.rc != 0
    refusal = result.output[result.output.index("invalid shared RDS service list") :]
    for number, name in enumerate(HOSTILE_NAMES, start=2):
        assert f"service #{number}: name {name!r}" in refusal.replace("\\'", "'")
    # Nothing after validation ran: no exports read, no connection, no database, no user, no secret.
    assert "Read the 60-db and KMS exports from SSM" not in result.stdout
    assert "Create the databases that do not exist yet" not in result.stdout
    assert databases(aws) == before_databases
    assert users(aws) == before_users
    assert not harness.secret_exists("srt_fine")
    harness.assert_nothing_leaked()


def test_interrupted_rotation_is_finished(harness, aws):
    services = [{"name": "srt_gamma"}]
    harness.run(services)
    old = harness.credentials("srt_gamma")
    # A run died after setting MySQL to the pending password and before promoting it: the two disagree.
    pending_password = "Pending-rotation-password-0123456789-abcdef"
    harness.passwords.add(pending_password)
    harness.secrets.put_secret_value(
        SecretId=secret_name("srt_gamma"),
        SecretString=json.dumps(old | {"password": pending_password}),
        VersionStages=["AWSPENDING"],
    )
    with admin(aws) as conn, conn.cursor() as cur:
        cur.execute("ALTER USER 'srt_gamma_user'@'%%' IDENTIFIED BY %s", (pending_password,))
    assert login_fails(aws, "srt_gamma_user", old["password"])

    finished = harness.run(services)  # no rotation asked: the pending one is finished, nothing new is made
    assert harness.recap(finished)["changed"] > 0
    assert harness.credentials("srt_gamma")["password"] == pending_password
    assert "AWSPENDING" not in harness.stages("srt_gamma")
    login(aws, "srt_gamma_user", pending_password, "srt_gamma").close()
    harness.assert_nothing_leaked()


def test_removal_needs_confirmation(harness, aws):
    harness.run([{"name": "srt_delta"}, {"name": "srt_eps"}])
    eps = harness.credentials("srt_eps")

    # Dropped from the list: left alone.
    harness.run([{"name": "srt_delta"}])
    assert {"srt_delta", "srt_eps"} <= databases(aws)
    assert "srt_eps_user" in users(aws)

    # Marked absent without confirmation: refused before any SQL.
    refused = harness.run([{"name": "srt_delta"}, {"name": "srt_eps", "state": "absent"}], expect_rc=None)
    assert refused.rc != 0
    assert "confirm_drop: srt_eps" in refused.output
    assert "srt_eps" in databases(aws)

    # Confirmed: user, database and secret go; the other service stays.
    harness.run([{"name": "srt_delta"}, {"name": "srt_eps", "state": "absent", "confirm_drop": "srt_eps"}])
    assert "srt_eps" not in databases(aws)
    assert "srt_eps_user" not in users(aws)
    assert "DeletedDate" in harness.secrets.describe_secret(SecretId=secret_name("srt_eps"))
    assert "srt_delta" in databases(aws)
    assert login_fails(aws, "srt_eps_user", eps["password"])
    harness.credentials("srt_delta")
    harness.assert_nothing_leaked()


def test_bastion_mode_without_a_bastion_is_refused_before_any_sql(harness, aws):
    """Real environments run the MySQL tasks on the bastion over SSM (delegate_to); with no running bastion of the
    environment the run stops naming the filters, before any database, user or secret exists. The path through a
    booted bastion is tested in test_sandbox_lifecycle.py::test_make_sandbox_path_with_nodes."""
    result = harness.run(
        [{"name": "srt_nobastion"}],
        extra={"shared_rds_schemas_connection": "bastion"},
        expect_rc=None,
    )
    assert result.rc != 0
    assert "Expected one running bastion for" in result.output
    assert '"tag:Role": "bastion"' in result.output
    assert "no database was changed" in result.output
    assert "srt_nobastion" not in databases(aws)
    assert not harness.secret_exists("srt_nobastion")
    harness.assert_nothing_leaked()


def test_a_plan_before_the_stacks_are_applied_reports_the_schemas_as_not_plannable(harness, aws):
    """A fresh environment's `site.yml --check` (make plan): the 60-db and KMS exports do not exist yet, so the
    schemas cannot be planned. The plan says so and passes; a real run fails, naming the missing exports."""
    services = [{"name": "srt_plan"}]
    unseeded = "playbooks/shared_rds.yml"  # the role alone, without the sandbox's exports
    planned = harness.run(services, check=True, playbook=unseeded)
    assert "so the schemas cannot be planned" in planned.stdout
    assert "Services not planned: srt_plan." in planned.stdout
    applied = harness.run(services, playbook=unseeded, expect_rc=None)
    assert applied.rc != 0
    assert "Missing export(s) among /shared/rds/sandbox/endpoint" in applied.output
    assert "srt_plan" not in databases(aws)
    harness.assert_nothing_leaked()
