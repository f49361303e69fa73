"""Which mailboxes prospectbot reads and how it logs in to each, from the environment (one block per mailbox; the
name picks the variables' prefix):

    IMAP_MAILBOXES=jane,unsubscribe           the mailboxes to read: short names of letters, digits, "-" and "_"
    IMAP_JANE_URL=imaps://jane@example.com@imap.gmail.com:993/INBOX
        imaps://USER@HOST[:PORT][/FOLDER]: the user name may itself hold "@" (the last "@" ends it) or be
        percent-encoded; PORT defaults to 993 and FOLDER to INBOX (percent-encode spaces: /Sales%20Replies).
        Implicit TLS only, and the server's certificate is always verified.
    IMAP_JANE_PASSWORD=...                    an app password; or OAuth instead:
    IMAP_JANE_OAUTH=google                    google or microsoft (bot.oauth.PROVIDERS): fills in the token URL
                                              and the scope
    IMAP_JANE_OAUTH_TOKEN_URL=https://...     needed without IMAP_JANE_OAUTH, else overrides it (a tenant's URL)
    IMAP_JANE_OAUTH_CLIENT_ID=...             needed with OAuth
    IMAP_JANE_OAUTH_CLIENT_SECRET=...         if the app has one
    IMAP_JANE_OAUTH_REFRESH_TOKEN=...         needed with OAuth
    IMAP_JANE_OAUTH_SCOPE=...                 optional; overrides the provider's
    IMAP_JANE_ROLE=unsubscribe                replies (the default: a sending mailbox, read for replies and
                                              bounces) or unsubscribe (the mailto: unsubscribe address)
    IMAP_JANE_CA_FILE=/path/ca.pem            optional: the CAs to trust for this server instead of the system's
    IMAP_CA_FILE=/path/ca.pem                 optional: the same, for every mailbox without its own
    IMAP_POLL_SECONDS=60                      how often to look when a server offers no IDLE (bot/settings.py)

A name such as sales-jane reads IMAP_SALES_JANE_URL, IMAP_SALES_JANE_PASSWORD and so on.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from bot.oauth import PROVIDERS, OAuthSettings

ROLES = ("replies", "unsubscribe")
DEFAULT_PORT = 993
EXAMPLE_URL = "imaps://jane@example.com@imap.example.com:993/INBOX"
MAILBOX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
OAUTH_SUFFIXES = ("OAUTH", "OAUTH_TOKEN_URL", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_REFRESH_TOKEN",
                  "OAUTH_SCOPE")


@dataclass(frozen=True)
class MailboxSettings:
    name: str  # short, for logs and as the key of the stored cursor, e.g. "sales-jane"
    host: str
    port: int
    username: str
    folder: str = "INBOX"
    password: str | None = field(default=None, repr=False)  # an app password
    oauth: OAuthSettings | None = None
    ca_file: str | None = None  # TLS is always verified: against these CAs, else the system's
    role: str = "replies"  # "replies" (a sending mailbox) or "unsubscribe" (the mailto: address)


class MailboxConfigurationError(ValueError):
    """An IMAP_* variable is missing or wrong; str(error) names it and says how to fix it. Values are never
    repeated back: a URL or a secret pasted in the wrong place must not end up in a log."""


def variable(name: str, suffix: str) -> str:
    """The variable that sets `suffix` of mailbox `name`: ("sales-jane", "URL") gives IMAP_SALES_JANE_URL."""
    return f"IMAP_{name.upper().replace('-', '_')}_{suffix}"


def mailboxes_from_env(env: Mapping[str, str]) -> list[MailboxSettings]:
    """The mailboxes IMAP_MAILBOXES lists, in its order; none when it is unset. Raises MailboxConfigurationError."""
    names = [name.strip() for name in env.get("IMAP_MAILBOXES", "").split(",") if name.strip()]
    shared_ca_file = _ca_file(env, "IMAP_CA_FILE")
    by_prefix: dict[str, str] = {}
    for name in names:
        if not MAILBOX_NAME.match(name):
            raise MailboxConfigurationError(f'IMAP_MAILBOXES lists "{name[:40]}": a mailbox name is letters, digits, '
                                            '"-" and "_", such as sales-jane.')
        prefix = variable(name, "")
        if prefix in by_prefix:
            raise MailboxConfigurationError(f'IMAP_MAILBOXES lists "{by_prefix[prefix]}" and "{name}", which would '
                                            f"share the variables {prefix}*: give them different names.")
        by_prefix[prefix] = name
    return [_mailbox(env, name, shared_ca_file) for name in names]


def _mailbox(env: Mapping[str, str], name: str, shared_ca_file: str | None) -> MailboxSettings:
    username, host, port, folder = _parse_url(name, env.get(variable(name, "URL"), "").strip())
    password = env.get(variable(name, "PASSWORD"), "")
    uses_oauth = any(env.get(variable(name, suffix), "").strip() for suffix in OAUTH_SUFFIXES)
    if password and uses_oauth:
        raise MailboxConfigurationError(f"Set either {variable(name, 'PASSWORD')} or the {variable(name, 'OAUTH')}* "
                                        f"variables for mailbox {name}, not both.")
    if not password and not uses_oauth:
        raise MailboxConfigurationError(f"{variable(name, 'PASSWORD')} is not set: mailbox {name} needs an app "
                                        f"password, or OAuth ({variable(name, 'OAUTH')}=google or microsoft and "
                                        f"{variable(name, 'OAUTH_CLIENT_ID')}, ..._REFRESH_TOKEN).")
    role = env.get(variable(name, "ROLE"), "").strip().lower() or "replies"
    if role not in ROLES:
        raise MailboxConfigurationError(f"{variable(name, 'ROLE')} must be replies (a sending mailbox) or unsubscribe "
                                        "(the mailto: unsubscribe address).")
    return MailboxSettings(name=name, host=host, port=port, username=username, folder=folder,
                           password=password or None, oauth=_oauth(env, name) if uses_oauth else None,
                           ca_file=_ca_file(env, variable(name, "CA_FILE")) or shared_ca_file, role=role)


def _parse_url(name: str, url: str) -> tuple[str, str, int, str]:
    """(user name, host, port, folder) from imaps://USER@HOST[:PORT][/FOLDER]."""
    where = variable(name, "URL")
    if not url:
        raise MailboxConfigurationError(f"{where} is not set: IMAP_MAILBOXES lists {name}, so give the mailbox's "
                                        f"address, such as {EXAMPLE_URL}.")
    scheme, has_scheme, rest = url.partition("://")
    if scheme.lower() == "imap":
        raise MailboxConfigurationError(f"{where} starts with imap://: prospectbot reads mail over TLS only, so use "
                                        "imaps:// and the server's TLS port (usually 993).")
    if not has_scheme or scheme.lower() != "imaps":
        raise MailboxConfigurationError(f"{where} must look like {EXAMPLE_URL}.")
    authority, _, path = rest.partition("/")
    userinfo, has_user, host_and_port = authority.rpartition("@")
    if not has_user or not userinfo:
        raise MailboxConfigurationError(f"{where} has no user name: write it before the server, as in {EXAMPLE_URL}.")
    if ":" in userinfo:
        raise MailboxConfigurationError(f"{where} holds a password: put it in {variable(name, 'PASSWORD')} and keep "
                                        f"only the user name in the URL, as in {EXAMPLE_URL}.")
    if any(mark in path for mark in "?#"):
        raise MailboxConfigurationError(f'{where} has "?" or "#" after the server: percent-encode them in the '
                                        "folder name (%3F, %23).")
    try:
        parsed = urlsplit(f"imaps://{host_and_port}")
        host, port = parsed.hostname, parsed.port or DEFAULT_PORT
    except ValueError:
        host, port = None, 0
    if not host or not 0 < port < 65536:
        raise MailboxConfigurationError(f"{where} needs a server name and, if not 993, a port number after it, as "
                                        f"in {EXAMPLE_URL}.")
    return unquote(userinfo), host, port, unquote(path.rstrip("/")) or "INBOX"


def _oauth(env: Mapping[str, str], name: str) -> OAuthSettings:
    def value(suffix: str) -> str:
        return env.get(variable(name, suffix), "").strip()

    preset_name = value("OAUTH").lower()
    if preset_name and preset_name not in PROVIDERS:
        raise MailboxConfigurationError(f"{variable(name, 'OAUTH')} must be {' or '.join(PROVIDERS)}, or empty with "
                                        f"{variable(name, 'OAUTH_TOKEN_URL')} set to the provider's token endpoint.")
    preset = PROVIDERS.get(preset_name)
    token_url = value("OAUTH_TOKEN_URL") or (preset.token_url if preset else "")
    if not token_url:
        raise MailboxConfigurationError(f"{variable(name, 'OAUTH_TOKEN_URL')} is not set: give the provider's token "
                                        f"endpoint, or set {variable(name, 'OAUTH')}=google or microsoft.")
    if not _safe_token_url(token_url):
        raise MailboxConfigurationError(f"{variable(name, 'OAUTH_TOKEN_URL')} must be an https:// address: the "
                                        "refresh token and client secret travel to it.")
    for suffix in ("OAUTH_CLIENT_ID", "OAUTH_REFRESH_TOKEN"):
        if not value(suffix):
            raise MailboxConfigurationError(f"{variable(name, suffix)} is not set: mailbox {name} logs in with OAuth, "
                                            "which needs the app's client id and a refresh token for the mailbox.")
    return OAuthSettings(token_url=token_url, client_id=value("OAUTH_CLIENT_ID"),
                         client_secret=value("OAUTH_CLIENT_SECRET"), refresh_token=value("OAUTH_REFRESH_TOKEN"),
                         scope=value("OAUTH_SCOPE") or (preset.scope if preset else ""))


def _safe_token_url(url: str) -> bool:
    """https anywhere; plain http only to this machine (a local proxy, or a stand-in in tests)."""
    try:
        parsed = urlsplit(url)
        host = parsed.hostname or ""
    except ValueError:
        return False
    if parsed.scheme == "https" and host:
        return True
    if parsed.scheme != "http":
        return False
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ca_file(env: Mapping[str, str], name: str) -> str | None:
    path = env.get(name, "").strip()
    if path and not os.path.isfile(path):
        raise MailboxConfigurationError(f"{name} names {path}, which is not a file: give the path of a PEM file "
                                        "with the CA certificates to trust.")
    return path or None
