"""Talking IMAP to the team's mailboxes: connect over TLS, log in with a password or OAuth (XOAUTH2), hand over the
messages after a UID, flag the ones acted on, and wait for new mail with IDLE or by polling. What is done with the
messages, and where the last UID is kept, belongs to the caller (bot/inbox.py); this module never deletes, moves or
marks anyone's mail as read.

Which mailboxes to read, and how to log in to each, comes from the environment: see bot/imap_settings.py.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import imapclient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError  # type: ignore[import-untyped]

from bot.imap_settings import MailboxSettings, mailboxes_from_env, variable
from bot.oauth import HttpPost, OAuthError, post_form, tokens_for

__all__ = ["FetchedMessage", "Mailbox", "MailboxDisconnected", "MailboxError", "MailboxSettings", "mailboxes_from_env",
           "open_mailbox"]

log = logging.getLogger(__name__)

PROCESSED_KEYWORD = "$ProspectbotProcessed"
# RFC 2177: a server may end an IDLE after 30 minutes without a word, so it is re-issued well before.
IDLE_RENEW_SECONDS = 28 * 60.0
LONGEST_QUOTED_REPLY = 200


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes = field(repr=False)  # the message as the server stores it, cut at max_bytes
    internal_date: datetime | None  # when the server received it, with its time zone
    size: int  # the whole message's size, as the server counts it
    truncated: bool  # raw holds only the first max_bytes of it


class MailboxError(Exception):
    """Reading a mailbox failed; str(error) says why in one sentence, without passwords or tokens."""


class MailboxDisconnected(MailboxError):
    """The connection dropped (server restarted, reset, timed out): connect again and resume from the last UID."""


def open_mailbox(settings: MailboxSettings, *, timeout: float = 30.0, http_post: HttpPost = post_form,
                 use_idle: bool = True) -> Mailbox:
    """A connected, logged-in mailbox with its folder selected; raises MailboxError."""
    return Mailbox(settings, timeout=timeout, http_post=http_post, use_idle=use_idle).connect()


class Mailbox:
    """One connection to one mailbox folder, for one thread. A context manager: leaving it logs out.

    Every failure is a MailboxError; once the connection drops, each call raises MailboxDisconnected until the
    caller connects again (a new Mailbox) and resumes from the last UID it was handed."""

    uidvalidity: int

    def __init__(self, settings: MailboxSettings, *, timeout: float = 30.0, http_post: HttpPost = post_form,
                 use_idle: bool = True) -> None:
        self.settings = settings
        self.timeout = timeout
        self.uidvalidity = 0
        self._use_idle = use_idle  # False: poll even where the server offers IDLE (servers whose IDLE misbehaves)
        self._tokens = tokens_for(settings.oauth, http_post=http_post, timeout=timeout) if settings.oauth else None
        self._client: Any = None
        self._dropped = False
        self._keywords_allowed = True

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # -- connecting ------------------------------------------------------------------------------------------

    def connect(self) -> Mailbox:
        self._client = self._log_in()
        try:
            selected = self._select()
        except MailboxError:
            self.close()
            raise
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        permanent = selected.get(b"PERMANENTFLAGS")
        if permanent is not None and b"\\*" not in permanent and PROCESSED_KEYWORD.encode() not in permanent:
            self._give_up_keywords("it does not let clients keep keywords on messages")
        return self

    def _select(self) -> Any:
        with self._talking("opening the folder") as client:
            try:
                return client.select_folder(self.settings.folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as error:
                raise MailboxError(
                    f'Mailbox {self.settings.name} has no folder "{self.settings.folder}" that can be opened '
                    f"({self._quote(error)}); check the folder at the end of {variable(self.settings.name, 'URL')}."
                ) from None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _close_quietly(client)

    def _log_in(self) -> Any:
        settings = self.settings
        if self._tokens is None:
            client = self._connect()
            try:
                client.login(settings.username, settings.password or "")
            except LoginError as error:
                _close_quietly(client)
                raise MailboxError(
                    f"The IMAP server {self._where} refused the password for {settings.username} "
                    f"({self._quote(error)}); check {variable(settings.name, 'PASSWORD')} (Gmail and Microsoft 365 "
                    "want an app password)."
                ) from None
            except (IMAPClientError, OSError) as error:
                _close_quietly(client)
                raise self._dropped_while("logging in", error) from error
            return client
        # With OAuth: the token in hand first; if the server refuses it (expired or revoked early), a fresh one.
        for attempt in (1, 2):
            token = self._access_token(fresh=attempt == 2)
            client = self._connect()
            try:
                if not client.has_capability("AUTH=XOAUTH2"):
                    _close_quietly(client)
                    raise MailboxError(f"The IMAP server {self._where} does not offer OAuth logins (XOAUTH2); use an "
                                       f"app password in {variable(settings.name, 'PASSWORD')} instead.")
                client.sasl_login("XOAUTH2", _XOAuth2(settings.username, token))
                return client
            except LoginError as error:
                _close_quietly(client)
                refusal = self._quote(error)
            except (IMAPClientError, OSError) as error:
                _close_quietly(client)
                raise self._dropped_while("logging in", error) from error
        raise MailboxError(f"The IMAP server {self._where} refused a fresh OAuth access token for {settings.username} "
                           f"({refusal}); check that this account may use IMAP and that the app has the IMAP scope.")

    def _access_token(self, *, fresh: bool) -> str:
        assert self._tokens is not None
        try:
            return self._tokens.renew() if fresh else self._tokens.current()
        except OAuthError as error:
            names = " and ".join(variable(self.settings.name, setting) for setting in error.settings)
            raise MailboxError(f"Mailbox {self.settings.name}: {error.problem}; {error.remedy} ({names}).") from None

    def _connect(self) -> Any:
        settings = self.settings
        try:
            context = ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise MailboxError(f"The CA file {settings.ca_file} for mailbox {settings.name} can not be used "
                               f"({error.strerror or error}).") from None
        try:
            client = imapclient.IMAPClient(settings.host, settings.port, ssl=True, ssl_context=context,
                                           timeout=self.timeout)
        except ssl.SSLCertVerificationError as error:
            raise MailboxError(
                f"The IMAP server {self._where} showed a certificate that could not be verified "
                f"({error.verify_message}); if it uses a private CA, give its certificate in "
                f"{variable(settings.name, 'CA_FILE')} or IMAP_CA_FILE."
            ) from None
        except ssl.SSLError as error:
            raise MailboxError(f"TLS with the IMAP server {self._where} failed ({error.reason or error}); is "
                               f"{settings.port} its implicit-TLS port (usually 993)?") from None
        except socket.gaierror:
            raise MailboxError(f"Cannot find the IMAP server {settings.host}; check "
                               f"{variable(settings.name, 'URL')}.") from None
        except (OSError, IMAPClientError) as error:
            raise MailboxError(f"Cannot reach the IMAP server {self._where} ({_describe(error)}); check "
                               f"{variable(settings.name, 'URL')} and that the server is up.") from None
        client.normalise_times = False  # INTERNALDATE with the server's time zone, not this machine's local time
        return client

    # -- reading ---------------------------------------------------------------------------------------------

    def fetch_after(self, uid: int, *, limit: int = 100, max_bytes: int = 1 << 20) -> list[FetchedMessage]:
        """The first `limit` messages whose UID is above `uid`, in UID order, each cut at `max_bytes` (the rest of
        a huge message never crosses the network, so a batch holds at most limit × max_bytes). Reading uses
        BODY.PEEK, so nothing is marked as read."""
        if limit < 1 or max_bytes < 1:
            raise ValueError("limit and max_bytes must be positive")
        with self._talking("looking for new messages") as client:
            # A session sees what others delivered only once it syncs; NOOP syncs, so nothing that has arrived is
            # left for the next call.
            _, responses = client.noop()
            self._no_goodbye(responses)
            # "UID n:*" always includes the newest message, even below n: hence the filter.
            uids = sorted(found for found in client.search(["UID", f"{uid + 1}:*"]) if found > uid)[:limit]
            if not uids:
                return []
            fetched = client.fetch(uids, [f"BODY.PEEK[]<0.{max_bytes}>", "RFC822.SIZE", "INTERNALDATE"])
        messages = []
        for message_uid in uids:
            data = fetched.get(message_uid)
            if data is None:  # expunged since the search: there is nothing to hand over
                continue
            raw = next((bytes(value or b"") for key, value in data.items()
                        if isinstance(key, bytes) and key.startswith(b"BODY[")), b"")
            size = int(data.get(b"RFC822.SIZE", len(raw)))
            messages.append(FetchedMessage(uid=message_uid, raw=raw, internal_date=data.get(b"INTERNALDATE"),
                                           size=size, truncated=len(raw) >= max_bytes and size > len(raw)))
        return messages

    def mark_processed(self, uids: Sequence[int]) -> None:
        """Adds the $ProspectbotProcessed keyword, so people reading the mailbox can see what prospectbot acted
        on. A server that refuses keywords is told once and left alone: the stored UID is what counts."""
        if not uids or not self._keywords_allowed:
            return
        with self._talking("flagging messages as processed") as client:
            try:
                client.add_flags(list(uids), [PROCESSED_KEYWORD], silent=True)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as error:
                self._give_up_keywords(f"it refused the keyword: {self._quote(error)}")

    # -- waiting ---------------------------------------------------------------------------------------------

    def supports_idle(self) -> bool:
        with self._talking("asking what the server offers") as client:
            return self._use_idle and bool(client.has_capability("IDLE"))

    def wait_for_mail(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds; True when the server announced new mail. With IDLE it returns as soon as
        mail arrives; without, it sleeps the whole time and then asks (NOOP)."""
        if not self.supports_idle():
            time.sleep(max(0.0, timeout))
            with self._talking("checking for new messages") as client:
                _, responses = client.noop()
            return _announces_mail(self._no_goodbye(responses))
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if self._idle(min(remaining, IDLE_RENEW_SECONDS)):
                return True
        return False

    def _idle(self, seconds: float) -> bool:
        with self._talking("waiting for new messages") as client:
            client.idle()
            announced = False
            try:
                end = time.monotonic() + seconds
                while not announced and (left := end - time.monotonic()) > 0:
                    responses = client.idle_check(timeout=left)
                    if not responses:  # the time is up, or the server hung up: ending the IDLE tells which
                        break
                    announced = _announces_mail(self._no_goodbye(responses))
            finally:
                _, responses = client.idle_done()
            return announced or _announces_mail(self._no_goodbye(responses))

    # -- failures --------------------------------------------------------------------------------------------

    @contextmanager
    def _talking(self, doing: str) -> Iterator[Any]:
        """The client, for one exchange; a dropped connection becomes MailboxDisconnected, any other refusal by
        the server a MailboxError."""
        if self._client is None or self._dropped:
            raise MailboxDisconnected(f"Mailbox {self.settings.name} is not connected; connect again.")
        try:
            yield self._client
        except (IMAPClientAbortError, OSError) as error:
            raise self._dropped_while(doing, error) from error
        except IMAPClientError as error:
            raise MailboxError(f"The IMAP server {self._where} refused {doing} in mailbox {self.settings.name} "
                               f"({self._quote(error)}).") from error

    def _dropped_while(self, doing: str, error: BaseException) -> MailboxDisconnected:
        self._dropped = True
        return MailboxDisconnected(f"The connection to mailbox {self.settings.name} ({self._where}) dropped while "
                                   f"{doing} ({_describe(error)}); connect again to resume.")

    def _no_goodbye(self, responses: Sequence[Any]) -> Sequence[Any]:
        for response in responses:
            if isinstance(response, tuple) and response and response[0] == b"BYE":
                words = response[1] if len(response) > 1 and isinstance(response[1], bytes) else b"BYE"
                raise self._dropped_while("waiting", ConnectionAbortedError(words.decode(errors="replace")))
        return responses

    def _give_up_keywords(self, why: str) -> None:
        self._keywords_allowed = False
        if self.settings.name not in _told_about_keywords:
            _told_about_keywords.add(self.settings.name)
            log.warning("mailbox %s: not flagging messages as %s, because %s", self.settings.name,
                        PROCESSED_KEYWORD, why)

    def _quote(self, error: BaseException) -> str:
        """The server's own words, which may help (e.g. "application-specific password required"), but never
        a secret of ours."""
        text = _describe(error)
        for secret in (self.settings.password or "",):
            if len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return self._tokens.redact(text) if self._tokens is not None else text


_told_about_keywords: set[str] = set()


class _XOAuth2:
    """The XOAUTH2 exchange: the bearer token first; to a refusal (a JSON challenge) an empty answer, as the
    mechanism asks, so the server ends with NO instead of the client sending the token twice."""

    def __init__(self, username: str, token: str) -> None:
        self._first = f"user={username}\x01auth=Bearer {token}\x01\x01"
        self._sent = False

    def __call__(self, challenge: bytes) -> str:
        if self._sent:
            return ""
        self._sent = True
        return self._first


def _announces_mail(responses: Sequence[Any]) -> bool:
    for response in responses:
        count, kind = (response[0], response[1]) if isinstance(response, tuple) and len(response) >= 2 else (0, b"")
        if isinstance(count, int) and (kind == b"EXISTS" or (kind == b"RECENT" and count > 0)):
            return True
    return False


def _describe(error: object) -> str:
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    elif isinstance(error, BaseException):
        text = " ".join(str(arg.decode(errors="replace") if isinstance(arg, bytes) else arg) for arg in error.args)
        text = text or type(error).__name__
    else:
        text = str(error)
    # imapclient words a refused login as the repr of the server's bytes: b'[AUTHENTICATIONFAILED] ...'
    text = re.sub(r"""\bb(['"])(.*?)\1""", r"\2", text.strip())
    return text[:LONGEST_QUOTED_REPLY]


def _close_quietly(client: Any) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - a connection already gone needs no goodbye
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
