"""The manifest an admin pastes into Slack matches what the app listens to, with the fewest scopes."""

from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yaml").read_text())


def test_slash_command_with_usage_hint():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/prospect" and command["usage_hint"]
    assert command["url"].endswith("/slack/events")


def test_interactivity_options_home_and_socket_mode():
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert settings["socket_mode_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_minimum_bot_scopes():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == [
        "chat:write", "chat:write.public", "commands", "usergroups:read", "users:read"]
    assert len(MANIFEST["display_information"]["description"]) <= 140
