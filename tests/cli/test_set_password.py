"""``taskyard admin set-password``: run on the server, against its database, never with the
password on the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from taskyard.cli.main import cli
from taskyard.config import Settings, get_settings
from taskyard.db.models import ApiToken, AuditEntry, User, utcnow
from taskyard.db.session import session_scope
from taskyard.services import teams, tokens, users, web_sessions
from tests.api.conftest import bootstrapped

PASSWORD = "correct horse battery"


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> Settings:
    return bootstrapped(tmp_path, database_url)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def set_password(settings: Settings, *args: str, stdin: str = "") -> Ran:
    """The command through click's runner (stdin is no terminal there), with the server's
    settings in its environment."""
    env = {
        "TASKYARD_DATABASE_URL": settings.resolved_database_url,
        "TASKYARD_DATA_DIR": str(settings.data_dir),
    }
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["admin", "set-password", *args], input=stdin, env=env)
    finally:
        get_settings.cache_clear()
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_the_first_admin_gets_a_password_from_stdin(server_settings: Settings) -> None:
    url = server_settings.resolved_database_url
    with session_scope(url) as session:
        admin = session.query(User).filter_by(username="admin").one()
        session_token, value = tokens.create_token(session, admin, "browser", ["admin"])
        session_token.expires_at = utcnow() + web_sessions.SESSION_LIFETIME
    done = set_password(server_settings, "admin", "--stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "Set the password of admin" in done.stdout and PASSWORD not in done.stdout
    with session_scope(url) as session:
        assert web_sessions.sign_in_with_password(session, "admin", PASSWORD)
        entry = session.query(AuditEntry).filter_by(action="user.password_set").one()
        assert entry.target == "admin" and entry.detail == {"by": "server"}
        assert "(server command line)" in entry.actor
        # A reset signs the user's browsers out (a leaked password is why one resets it).
        assert (
            session.query(ApiToken).filter_by(token_hash=tokens.hash_token(value)).one().revoked_at
        )


def test_it_refuses_a_short_password_an_unknown_user_and_no_way_to_ask(
    server_settings: Settings,
) -> None:
    short = set_password(server_settings, "admin", "--stdin", stdin="short\n")
    assert short.returncode == 1 and "12 to 1024 characters" in short.stderr
    nobody = set_password(server_settings, "nobody", "--stdin", stdin=PASSWORD)
    assert nobody.returncode == 1 and "No user 'nobody'" in nobody.stderr
    no_tty = set_password(server_settings, "admin", stdin=PASSWORD)
    assert no_tty.returncode == 2 and "--stdin" in no_tty.stderr
    argv = set_password(server_settings, "admin", PASSWORD, stdin=PASSWORD)
    assert argv.returncode == 2  # no way to pass it on the command line


def test_a_username_in_several_organizations_needs_the_organization(
    server_settings: Settings,
) -> None:
    with session_scope(server_settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival Inc", "*")
        users.create_user(session, org.id, "admin")
    both = set_password(server_settings, "admin", "--stdin", stdin=PASSWORD)
    assert both.returncode == 1 and "(default, rival): name one with --org" in both.stderr
    one = set_password(server_settings, "admin", "--org", "rival", "--stdin", stdin=PASSWORD)
    assert one.returncode == 0, one.stderr
    with session_scope(server_settings.resolved_database_url) as session:
        assert web_sessions.sign_in_with_password(session, "admin", PASSWORD, "rival")
        first = session.query(User).filter_by(username="admin", org_id=1).one()
        assert first.password_hash is None
