# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox service manager: idempotent up, clean down, endpoints file."""

from __future__ import annotations

import json

import pytest

from sandbox.services import Sandbox, pid_alive

pytestmark = pytest.mark.integration


def test_up_twice_down_leaves_nothing(tmp_path):
    services = Sandbox(tmp_path / "sb")
    first = services.up()
    try:
        assert sorted(first["started"]) == ["aws", "mysql"]
        pids = {name: s["pid"] for name, s in services.status().items()}
        second = services.up()
        assert second["started"] == [], "a running sandbox must be left alone"
        assert {name: s["pid"] for name, s in services.status().items()} == pids
        endpoints = json.loads(services.endpoints_file.read_text())
        assert endpoints["aws"]["endpoint_url"].startswith("http://127.0.0.1:")
        assert endpoints["mysql"]["host"] == "127.0.0.1"
        assert (tmp_path / "sb" / "mysql" / "admin-password").stat().st_mode & 0o077 == 0
    finally:
        result = services.down(purge=True)
    assert sorted(result["stopped"]) == ["aws", "mysql"]
    assert not any(pid_alive(pid) for pid in pids.values())
    assert not (tmp_path / "sb").exists()


def test_admin_password_logs_in(sandbox):
    import pymysql

    conn = pymysql.connect(
        host=sandbox.mysql_host,
        port=sandbox.mysql_port,
        user=sandbox.mysql_admin_user,
        password=sandbox.mysql_admin_password,
    )
    with conn.cursor() as cur:
        cur.execute("SELECT @@character_set_server")
        assert cur.fetchone()[0] == "utf8mb4"
    conn.close()


def test_three_mariadb_bootstraps_at_once_each_succeed(tmp_path):
    """Three test workers start their sandboxes at the same moment: each MariaDB bootstraps its own data
    directory with its own temporary directory (in a shared /tmp two bootstraps can take the same temporary
    table names, and one aborts with error 1051)."""
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.services import MariaDB

    servers = [MariaDB(tmp_path / f"sb{n}") for n in range(3)]
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.prepare(), servers))
    for server in servers:
        assert (server.datadir / "mysql").is_dir()
        assert server.tmpdir.is_dir()
        assert server.tmpdir.is_relative_to(server.state_dir)
