"""OAuth 2.0 access tokens for reading a mailbox with XOAUTH2: the refresh_token grant against the provider's token
endpoint, a token kept until shortly before it expires, and refused requests turned into one sentence.

Google and Microsoft 365 let an app read IMAP with a bearer token instead of a password; an administrator creates
the app (client id and secret) and a refresh token once, and prospectbot trades the refresh token for short-lived
access tokens as it goes. Tokens and secrets never appear in a log line, a repr or an error.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# The endpoint answers with (HTTP status, body); a test passes its own to talk to a stand-in.
HttpPost = Callable[[str, Mapping[str, str], float], tuple[int, bytes]]

# Renew this long before the provider says a token expires, so a login never races the expiry.
RENEW_BEFORE_SECONDS = 60.0
# Providers that leave out expires_in are treated as if they had said one hour, the usual lifetime.
DEFAULT_LIFETIME_SECONDS = 3600.0
LONGEST_QUOTED_ERROR = 200


@dataclass(frozen=True)
class Provider:
    token_url: str
    scope: str


# What IMAP_<NAME>_OAUTH=<provider> fills in. Google needs no scope on a refresh (the grant keeps the one the
# refresh token was made with); Microsoft asks for it, and offline_access keeps the refresh token usable.
PROVIDERS: dict[str, Provider] = {
    "google": Provider("https://oauth2.googleapis.com/token", ""),
    "microsoft": Provider("https://login.microsoftonline.com/common/oauth2/v2.0/token",
                          "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"),
}


@dataclass(frozen=True)
class OAuthSettings:
    token_url: str
    client_id: str
    client_secret: str = field(default="", repr=False)  # public clients (some Microsoft apps) have none
    refresh_token: str = field(default="", repr=False)
    scope: str = ""


class OAuthError(Exception):
    """The token endpoint could not be reached or refused the refresh token. str(error) is one sentence, with the
    endpoint's own error code and description; `problem` and `remedy` are its two halves, and `settings` names
    the OAuthSettings fields to look at (as IMAP_<NAME>_ variable suffixes), for a caller that knows the variables."""

    def __init__(self, problem: str, remedy: str, settings: tuple[str, ...]) -> None:
        super().__init__(f"{problem[:1].upper()}{problem[1:]}; {remedy}.")
        self.problem = problem
        self.remedy = remedy
        self.settings = settings


def post_form(url: str, fields: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    """POSTs application/x-www-form-urlencoded fields; returns the status and body, error statuses included."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(1 << 20)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(1 << 20)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise OAuthError(f"cannot reach the token endpoint {url} ({reason})", "check the address and the network",
                         ("OAUTH_TOKEN_URL",)) from None


class AccessTokens:
    """Access tokens for one refresh token: `current()` hands out a token that is still good for a while, fetching
    a new one when needed; `renew()` fetches one now, for when the server refused the one it was given."""

    def __init__(self, settings: OAuthSettings, *, http_post: HttpPost = post_form, timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._http_post = http_post
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0
        # Microsoft hands out a new refresh token with each access token; the newest is the one to use next.
        self._refresh_token = settings.refresh_token

    def current(self) -> str:
        with self._lock:
            if not self._token or self._clock() >= self._renew_at:
                self._fetch()
            return self._token

    def renew(self) -> str:
        with self._lock:
            self._fetch()
            return self._token

    def _fetch(self) -> None:
        settings = self.settings
        fields = {"grant_type": "refresh_token", "refresh_token": self._refresh_token,
                  "client_id": settings.client_id}
        if settings.client_secret:
            fields["client_secret"] = settings.client_secret
        if settings.scope:
            fields["scope"] = settings.scope
        status, body = self._http_post(settings.token_url, fields, self._timeout)
        answer = _json_object(body)
        token = answer.get("access_token")
        if status != 200 or not isinstance(token, str) or not token:
            raise self._refusal(status, answer)
        lifetime = _seconds(answer.get("expires_in"))
        self._token = token
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
        self._renew_at = self._clock() + max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2)

    def _refusal(self, status: int, answer: Mapping[str, object]) -> OAuthError:
        code = str(answer.get("error") or f"HTTP {status}")
        description = str(answer.get("error_description") or "")
        quoted = self.redact(f"{code}: {description}" if description else code)[:LONGEST_QUOTED_ERROR]
        endpoint = self.settings.token_url
        if code == "invalid_grant":
            return OAuthError(f"the token endpoint {endpoint} refused the refresh token ({quoted})",
                              "it has expired or was revoked, so sign in again to make a new one",
                              ("OAUTH_REFRESH_TOKEN",))
        if code in ("invalid_client", "unauthorized_client"):
            return OAuthError(f"the token endpoint {endpoint} refused the OAuth client ({quoted})",
                              "check the client id and secret", ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"))
        return OAuthError(f"the token endpoint {endpoint} gave no access token ({quoted})",
                          "check the OAuth settings", ("OAUTH_TOKEN_URL", "OAUTH_SCOPE"))

    def redact(self, text: str) -> str:
        """The text with this mailbox's secrets and tokens blanked out, for quoting a server's words safely."""
        for secret in (self.settings.refresh_token, self._refresh_token, self.settings.client_secret, self._token):
            if len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text


def _json_object(body: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    return seconds if seconds > 0 else DEFAULT_LIFETIME_SECONDS


_shared: dict[tuple[OAuthSettings, HttpPost], AccessTokens] = {}
_shared_lock = threading.Lock()


def tokens_for(settings: OAuthSettings, *, http_post: HttpPost = post_form, timeout: float = 30.0) -> AccessTokens:
    """One AccessTokens per refresh token for the whole process, so a reconnect reuses a token that is still good
    instead of asking the provider again (providers rate-limit token requests)."""
    with _shared_lock:
        tokens = _shared.get((settings, http_post))
        if tokens is None:
            tokens = _shared[(settings, http_post)] = AccessTokens(settings, http_post=http_post, timeout=timeout)
        return tokens
