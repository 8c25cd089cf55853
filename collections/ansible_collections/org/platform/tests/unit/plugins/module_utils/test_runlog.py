# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one log rule: time stamps, file names, permissions, redaction by value and by shape, retention."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest
from ansible_collections.org.platform.plugins.module_utils._runlog import (
    MASK,
    Redactor,
    RunLogError,
    create_log_file,
    line_stamp,
    log_file_name,
    looks_secret_name,
    parse_log_name,
    parse_s3_target,
    prune,
    strip_ansi,
    utc_stamp,
)

NOW = datetime(2026, 12, 2, 7, 2, 29, 123456, tzinfo=UTC)


def test_stamps_are_utc_in_one_format():
    assert utc_stamp(NOW) == "20261202T070229Z"
    assert line_stamp(NOW) == "2026-12-02T07:02:29.123Z"
    local = datetime(2026, 12, 2, 9, 2, 29, tzinfo=datetime.now().astimezone().tzinfo)
    assert utc_stamp(local).endswith("Z")


@pytest.mark.parametrize(
    ("what", "env", "expected"),
    [
        ("site", "sandbox", "20261202T070229Z-a1b2c3_site_sandbox.log"),
        ("stacks_destroy", "dev", "20261202T070229Z-a1b2c3_stacks_destroy_dev.log"),
        ("play books/x y", "my_env", "20261202T070229Z-a1b2c3_play-books-x-y_my-env.log"),
        ("", "", "20261202T070229Z-a1b2c3_unknown_unknown.log"),
        ("../../etc/passwd", "prod", "20261202T070229Z-a1b2c3_..-..-etc-passwd_prod.log"),
    ],
)
def test_file_name_rule(what, env, expected):
    name = log_file_name(what, env, "20261202T070229Z", "a1b2c3")
    assert name == expected
    assert "/" not in name
    parsed = parse_log_name(name)
    assert parsed is not None
    assert (parsed.stamp, parsed.run_id, parsed.day) == ("20261202T070229Z", "a1b2c3", "20261202")


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "20261202T070229Z_site_sandbox.log", "20261202T070229.123Z_sandbox_net_apply.log", "x.log"],
)
def test_foreign_names_are_not_parsed(name):
    assert parse_log_name(name) is None


@pytest.mark.parametrize(("stamp", "run_id"), [("2026-12-02", "a1b2c3"), ("20261202T070229Z", "XYZ")])
def test_bad_name_parts_are_refused(stamp, run_id):
    with pytest.raises(ValueError, match=r"time stamp|run id"):
        log_file_name("site", "dev", stamp, run_id)


def test_files_are_0600_in_0700_dirs_and_never_shared(tmp_path):
    target = tmp_path / "logs" / "global"
    first, fd1 = create_log_file(target, "site", "dev", NOW)
    second, fd2 = create_log_file(target, "site", "dev", NOW)
    os.close(fd1)
    os.close(fd2)
    assert first != second
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_unwritable_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "logs"
    blocker.write_text("a file, not a directory")
    with pytest.raises(RunLogError, match=r"cannot create log directory .*logs/global"):
        create_log_file(blocker / "global", "site", "dev")


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db_password", True),
        ("PASSWORD", True),
        ("rke2_token", True),
        ("aws_secret_access_key", True),
        ("client_secret", True),
        ("ssh_private_key", True),
        ("api_key", True),
        ("admin_pw", True),
        ("credentials", True),
        ("bypass_check", False),
        ("kms_key_id", False),
        ("password_length_hint", True),
        ("platform_env", False),
        ("compass", False),
        ("shared_rds_schemas_secret_tags", False),
        ("master_secret_arn", False),
        ("shared_rds_schemas_master_secret_parameter", False),
        ("shared_rds_schemas_password_length", False),
        ("mysql_admin_password_file", False),
        ("secret_name", False),
        ("rke2_token_id", False),
        (3, False),
    ],
)
def test_secret_names(name, secret):
    assert looks_secret_name(name) is secret


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("mysql://admin:Sup3r-S3cret@db.internal:3306/app", "Sup3r-S3cret"),
        ("postgres://u:p%40ss-w0rd@h/db", "p%40ss-w0rd"),
        (
            "token: K10" + "ab" * 32 + "::server:0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ('{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', "bPxRfiCY"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "eyJhbGciOiJIUzI1NiJ9"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
    ],
)
def test_known_secret_shapes_are_masked(text, leaked):
    out = Redactor().redact(text)
    assert leaked not in out
    assert MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "git revision 3ccffc5a1b2c3d4e5f60718293a4b5c6d7e8f901",  # a SHA is no AWS key
        "vpc-0123456789abcdef0 subnet-0abc",
        "https://example.org/path?x=1",
        "stack=network action=apply result=changed",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert Redactor().redact(text) == text


@pytest.mark.parametrize(
    ("value", "text", "leak"),
    [
        ("CANARY-pw-1", "echo CANARY-pw-1 > /tmp/x", "CANARY"),
        ("CANARY-pw-1", '{"msg": "CANARY-pw-1"}', "CANARY"),
        ('qu"ote\\d', '{"msg": "qu\\"ote\\\\d"}', "ote"),  # as JSON writes it
        ("a b&c", "https://h/?p=a%20b%26c", "a%20b"),  # URL-encoded
        ({"nested": ["CANARY-nested"]}, "value CANARY-nested here", "CANARY"),
        (12345678, "port 12345678", "12345678"),
    ],
)
def test_collected_values_are_masked_in_every_form(value, text, leak):
    out = Redactor([value]).redact(text)
    assert MASK in out
    assert leak not in out


def test_longest_value_wins_and_short_values_are_ignored():
    redactor = Redactor(["abcd", "abcdefgh", "no", True, None])
    assert redactor.redact("xx abcdefgh yy abcd no True") == f"xx {MASK} yy {MASK} no True"
    assert "no" not in redactor


def test_add_named_collects_only_secret_keys():
    redactor = Redactor()
    redactor.add_named({"name": "orders", "db": {"password": "CANARY-db"}, "tokens": ["CANARY-t1"], "n": 3})
    assert redactor.redact("orders CANARY-db CANARY-t1") == f"orders {MASK} {MASK}"


def test_line_strips_colour_and_breaks():
    redactor = Redactor(["CANARY-x"])
    assert redactor.line("\x1b[0;32mok\x1b[0m CANARY-x\nnext") == f"ok {MASK}\\nnext"
    assert strip_ansi("\x1b]0;title\x07plain") == "plain"


def _touch(directory, stamp, run_id, what="site"):
    path = directory / log_file_name(what, "dev", stamp, run_id)
    path.write_text("x")
    return path


def test_prune_keeps_newest_runs_and_today(tmp_path):
    old = [_touch(tmp_path, f"202611{day:02d}T100000Z", f"00000{day % 10}") for day in range(1, 6)]
    today = [_touch(tmp_path, "20261202T010000Z", "aaaaaa"), _touch(tmp_path, "20261202T020000Z", "bbbbbb")]
    foreign = tmp_path / "README.txt"
    foreign.write_text("keep me")
    deleted = prune(tmp_path, keep=3, now=NOW)
    # newest 3 runs: the two of today and 2026-11-05; today's are kept anyway
    assert sorted(deleted) == sorted(old[:4])
    assert all(p.exists() for p in [*today, old[4], foreign])


def test_prune_never_deletes_today_even_beyond_keep(tmp_path):
    today = [_touch(tmp_path, f"20261202T0{h}0000Z", f"00000{h}") for h in range(5)]
    assert prune(tmp_path, keep=1, now=NOW) == []
    assert all(p.exists() for p in today)


def test_prune_zero_keeps_everything(tmp_path):
    path = _touch(tmp_path, "20200101T000000Z", "abcdef")
    assert prune(tmp_path, keep=0, now=NOW) == []
    assert path.exists()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("s3://run-logs/org/platform/", ("run-logs", "org/platform")),
        ("s3://run-logs", ("run-logs", "")),
    ],
)
def test_s3_target(target, expected):
    assert parse_s3_target(target) == expected


@pytest.mark.parametrize("target", ["https://run-logs/x", "s3://", "s3://Bad_Bucket/x", "run-logs/x"])
def test_bad_s3_target_is_named(target):
    with pytest.raises(ValueError, match="upload target"):
        parse_s3_target(target)
