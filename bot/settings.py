"""Settings from the environment. Read once, by the entry point, never at import time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import OWNER_ONLY, key_file_path

if TYPE_CHECKING:
    from bot.imap_settings import MailboxSettings

DEFAULT_DATABASE_URL = "sqlite:///prospectbot.db"
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(Exception):
    """A setting is missing or wrong; str(error) names the variable and how to fix it."""


DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    # Secrets stay out of repr(): a settings object printed into a log must not carry them.
    database_url: str = field(repr=False)
    secret_key: bytes = field(repr=False)
    slack_bot_token: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_notify_channel: str = ""
    # Roles: Slack user group handles or ids (S…). Without a member group every full member of the workspace is
    # a member; without a manager group, workspace admins and owners are managers.
    slack_manager_group: str = ""
    slack_member_group: str = ""
    slack_approvals_channel: str = ""
    bulk_request_ttl_days: int = 7
    members_can_delete: bool = False
    role_cache_seconds: float = 60.0
    public_base_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = True
    mail_from: str = ""
    # Where mailto: unsubscribes go (List-Unsubscribe gains <mailto:local+TOKEN@domain>); read as an IMAP mailbox.
    unsubscribe_mailbox: str = ""
    # The mailboxes read for replies, bounces and mailto: unsubscribes (bot/imap.py), and how often to look when a
    # server offers no IDLE.
    mailboxes: tuple[MailboxSettings, ...] = field(default=(), repr=False)
    imap_poll_seconds: float = 60.0

    @property
    def is_embedded_database(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigurationError(
            "DATABASE_URL is not a database URL: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:5432/dbname."
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"DATABASE_URL names {backend}: prospectbot supports SQLite and PostgreSQL.")
    if backend == "postgresql" and url.get_driver_name() != "psycopg":
        database_url = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    return Settings(
        database_url=database_url,
        secret_key=_secret_key(env, database_url),
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        slack_notify_channel=env.get("SLACK_NOTIFY_CHANNEL", "").strip(),
        slack_manager_group=env.get("SLACK_MANAGER_GROUP", "").strip().lstrip("@"),
        slack_member_group=env.get("SLACK_MEMBER_GROUP", "").strip().lstrip("@"),
        slack_approvals_channel=env.get("SLACK_APPROVALS_CHANNEL", "").strip().lstrip("#"),
        bulk_request_ttl_days=_whole_number(env, "BULK_REQUEST_TTL_DAYS", 7, low=1, high=365),
        members_can_delete=_flag(env, "MEMBERS_CAN_DELETE", False),
        public_base_url=env.get("PUBLIC_BASE_URL", "").strip().rstrip("/"),
        smtp_host=env.get("SMTP_HOST", "").strip(),
        smtp_port=_port(env.get("SMTP_PORT", "").strip() or "587"),
        smtp_user=env.get("SMTP_USER", "").strip(),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_flag(env, "SMTP_STARTTLS", True),
        mail_from=env.get("MAIL_FROM", "").strip(),
        unsubscribe_mailbox=_address(env, "UNSUBSCRIBE_MAILBOX"),
        mailboxes=tuple(_mailboxes(env)),
        imap_poll_seconds=float(_whole_number(env, "IMAP_POLL_SECONDS", 60, low=1, high=3600)),
    )


def _address(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    local, at, domain = value.rpartition("@")
    if value and (not at or not local or "+" in local or "." not in domain or any(c.isspace() for c in value)):
        raise ConfigurationError(f'{name} must be a plain address such as unsubscribe@example.com (no "+"), '
                                 f'not "{value}".')
    return value


def _mailboxes(env: Mapping[str, str]) -> list[MailboxSettings]:
    from bot.imap_settings import mailboxes_from_env

    try:
        return mailboxes_from_env(env)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f'{name} must be true or false, not "{value}".')


def _whole_number(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigurationError(f'{name} must be a whole number from {low} to {high}, not "{value}".')
    return int(value)


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigurationError(f"SMTP_PORT must be a port number such as 587, not \"{value}\".")
    return int(value)


def sender_name(settings: Settings) -> str:
    """The name people see in "Stop emails from …": MAIL_FROM's display name, else its address."""
    from email.utils import parseaddr

    name, address = parseaddr(settings.mail_from)
    return name or address or "us"


def require_mail(settings: Settings) -> None:
    if not settings.mail_from:
        raise ConfigurationError(
            "MAIL_FROM is not set: the sender address, e.g. MAIL_FROM=\"Jane at Acme <jane@acme.com>\"."
        )
    if not settings.public_base_url.startswith(("https://", "http://")):
        raise ConfigurationError("PUBLIC_BASE_URL is not set: the public address of `prospectbot serve`, which "
                                 "unsubscribe links point to (e.g. https://prospectbot.acme.com).")


WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) in your app's settings at api.slack.com/apps → "
    "OAuth & Permissions, after installing the app to your workspace",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with the connections:write scope, made in your app's settings → "
    "Basic Information → App-Level Tokens",
    "SLACK_SIGNING_SECRET": "the Signing Secret in your app's settings → Basic Information → App Credentials",
}
TOKEN_PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def require_slack(settings: Settings, *names: str) -> None:
    """One clear line for the first Slack setting that is missing or is obviously the wrong kind of token."""
    values = {"SLACK_BOT_TOKEN": settings.slack_bot_token, "SLACK_APP_TOKEN": settings.slack_app_token,
              "SLACK_SIGNING_SECRET": settings.slack_signing_secret}
    for name in names:
        value = values[name]
        if not value:
            raise ConfigurationError(f"{name} is not set: use {WHERE_TO_FIND[name]}.")
        prefix = TOKEN_PREFIXES.get(name)
        if prefix and not value.startswith(prefix):
            raise ConfigurationError(f"{name} should start with {prefix}: use {WHERE_TO_FIND[name]}.")


def _secret_key(env: Mapping[str, str], database_url: str) -> bytes:
    configured = env.get("SECRET_KEY", "").strip()
    if configured:
        if len(configured) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        return configured.encode()
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise ConfigurationError(
            "SECRET_KEY is not set: a shared PostgreSQL database needs the same SECRET_KEY in every process "
            "(generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
        )
    if not url.database or url.database == ":memory:":
        return secrets.token_urlsafe(48).encode()
    return _key_file_beside(Path(url.database)).encode()


def _key_file_beside(database_path: Path) -> str:
    """The embedded database's key, made on first use. An existing key is never replaced: losing it would
    silently make every fingerprint and unsubscribe link useless."""
    path = key_file_path(database_path)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    if _holds_data(database_path):
        # A new key could only be the wrong one: the start would be refused anyway, and the file left behind
        # would hide which one went missing. Read once more: a process starting at the same moment writes the
        # key before it creates the database.
        try:
            return _read_key(path)
        except FileNotFoundError:
            raise ConfigurationError(
                f"The database {database_path} was created with a key kept in {path}, which is missing: restore "
                "it from a backup (or set SECRET_KEY to that key)."
            ) from None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written aside, then linked into place: a process starting at the same moment sees no key or a whole one.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read_key(path)


def _holds_data(database_path: Path) -> bool:
    try:
        return database_path.stat().st_size > 0
    except OSError:
        return False


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(f"The key file {path} is empty or damaged: restore it from a backup.")
    return key
