"""Starting prospectbot as users do, in real processes: `--version`, PROSPECTBOT_LOG_LEVEL in any case, and every
failure to start said in exactly one line on stderr, with nothing from the Slack libraries around it."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.fake_slack import Scripted
from tests.test_serve import environment, free_port, prospectbot

REPO = Path(__file__).resolve().parent.parent
APP_TOKEN_REFUSED = ("Error: SLACK_APP_TOKEN was refused by Slack (invalid_auth): use an app-level token (xapp-…) "
                     "with the connections:write scope")
BOT_TOKEN_REFUSED = "Error: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): use the Bot User OAuth Token"
# A new embedded database in the test's directory: where a failure does not depend on the database, once is enough.
EMBEDDED = "sqlite:///prospectbot.db"


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([prospectbot(), *command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def slack_env(database_url: str, api_url: str, **extra: str) -> dict[str, str]:
    return environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_APP_TOKEN="xapp-test-token",
                       SLACK_SIGNING_SECRET="signing-secret", SLACK_API_URL=api_url, **extra)


def test_version_comes_from_the_installed_package(tmp_path):
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = start(["--version"], environment("sqlite:///unused.db"), tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"prospectbot {declared}\n", "")
    assert not (tmp_path / "unused.db").exists()  # nothing opened
    # `python -m bot.cli`, as the benchmarks run it, is the same command.
    module = subprocess.run([sys.executable, "-m", "bot.cli", "--version"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert (module.returncode, module.stdout) == (0, f"prospectbot {declared}\n")


# -- one line when the start fails ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run"], ["serve", "--port", "0"], ["worker"]])
def test_slack_unreachable_is_one_line(database_url, tmp_path, command):
    api_url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    result = start(command, slack_env(database_url, api_url), tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: Can not reach Slack at {api_url} (") and "Connection refused" in line


@pytest.mark.parametrize("command", [["run"], ["serve", "--port", "0"], ["worker"]])
def test_a_refused_bot_token_is_one_line(database_url, fake_slack, tmp_path, command):
    fake_slack.script("auth.test", Scripted(body={"ok": False, "error": "invalid_auth"}))
    result = start(command, slack_env(database_url, fake_slack.api_url), tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(BOT_TOKEN_REFUSED)


def test_a_refused_app_token_is_one_line(database_url, fake_slack, tmp_path):
    fake_slack.script("apps.connections.open", Scripted(body={"ok": False, "error": "invalid_auth"}))
    result = start(["run"], slack_env(database_url, fake_slack.api_url), tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(APP_TOKEN_REFUSED)
    assert fake_slack.calls_to("apps.connections.open")  # it got as far as Socket Mode


@pytest.mark.parametrize("failure,expected", [
    # Dropped twice: the Web API client tries once more on a dropped connection.
    ([Scripted(drop=True), Scripted(drop=True)],
     "Error: Can not open a Socket Mode connection to Slack (Remote end closed connection without response)."),
    ([Scripted(status=500, body={"ok": False, "error": "internal_error"})],
     "Error: Slack answered 500 (internal_error) when opening the Socket Mode connection: try again in a moment."),
])
def test_socket_mode_failing_to_connect_is_one_line(fake_slack, tmp_path, failure, expected):
    fake_slack.script("apps.connections.open", *failure)
    result = start(["run"], slack_env(EMBEDDED, fake_slack.api_url), tmp_path)
    assert (result.returncode, result.stderr.splitlines()) == (1, [expected])


def test_a_port_in_use_is_one_line(database_url, fake_slack, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = start(["serve", "--port", str(port)], slack_env(database_url, fake_slack.api_url), tmp_path)
    assert (result.returncode, result.stderr) == (1, f"Error: Can not listen on 127.0.0.1:{port} (Address already "
                                                     "in use).\n")


def test_a_first_start_on_a_new_embedded_database_is_one_line_too(fake_slack, tmp_path):
    fake_slack.script("apps.connections.open", Scripted(body={"ok": False, "error": "invalid_auth"}))
    result = start(["run"], slack_env(EMBEDDED, fake_slack.api_url), tmp_path)
    assert result.returncode == 1 and (tmp_path / "prospectbot.db").exists()
    [line] = result.stderr.splitlines()
    assert line.startswith(APP_TOKEN_REFUSED)


# -- PROSPECTBOT_LOG_LEVEL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["debug", "Info", "WARNING", " error "])
def test_the_log_level_is_read_in_any_case(fake_slack, tmp_path, level):
    fake_slack.script("auth.test", Scripted(body={"ok": False, "error": "invalid_auth"}))
    result = start(["worker"], slack_env(EMBEDDED, fake_slack.api_url, PROSPECTBOT_LOG_LEVEL=level), tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith(BOT_TOKEN_REFUSED) and "Unexpected error" not in result.stderr
    if level == "debug":  # the level took effect: the Slack libraries' details are shown when debugging
        assert any(" DEBUG slack_sdk." in line and "auth.test" in line for line in lines[:-1])
    else:
        assert len(lines) == 1


def test_a_debug_start_shows_the_libraries_and_still_ends_with_the_one_line(fake_slack, tmp_path):
    fake_slack.script("apps.connections.open", Scripted(body={"ok": False, "error": "invalid_auth"}))
    result = start(["run"], slack_env(EMBEDDED, fake_slack.api_url, PROSPECTBOT_LOG_LEVEL="DEBUG"), tmp_path)
    assert result.returncode == 1
    assert "Failed to retrieve WSS URL" in result.stderr
    assert result.stderr.splitlines()[-1].startswith(APP_TOKEN_REFUSED)


@pytest.mark.parametrize("command", [["run"], ["serve"], ["worker"]])
def test_an_unknown_log_level_is_one_line(tmp_path, command):
    result = start(command, slack_env(EMBEDDED, "http://127.0.0.1:1/api/", PROSPECTBOT_LOG_LEVEL="verbose"), tmp_path)
    assert (result.returncode, result.stderr) == (
        1, 'Error: PROSPECTBOT_LOG_LEVEL must be one of debug, info, warning, error, not "verbose".\n')
