"""The IMAP client against a real Dovecot (tests/imap_server.py): logging in with a password and with XOAUTH2,
reading after a UID without marking anything read, flagging, IDLE and polling, a server restarted mid-session,
and every failure as one sentence. Also the IMAP_* environment format."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from bot.imap import (
    PROCESSED_KEYWORD,
    Mailbox,
    MailboxDisconnected,
    MailboxError,
    MailboxSettings,
    mailboxes_from_env,
    open_mailbox,
)
from bot.imap_settings import MailboxConfigurationError
from bot.oauth import AccessTokens, OAuthError, OAuthSettings
from tests.imap_server import ImapServer, imap_server_fixture  # noqa: F401

JANE = "jane@example.test"


def message(subject: str, body: str = "Thanks, but we are not interested.") -> bytes:
    return (f"From: Ana Prospect <ana@prospect.test>\r\nTo: Jane <{JANE}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@prospect.test>\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def folder(imap_server: ImapServer) -> str:
    return imap_server.create_folder(JANE)


# -- logging in ------------------------------------------------------------------------------------------------


def test_a_password_login_opens_the_folder_with_a_stable_uidvalidity(imap_server: ImapServer, folder: str) -> None:
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        first = mailbox.uidvalidity
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        assert mailbox.uidvalidity == first > 0


def test_a_wrong_password_is_one_sentence_without_the_password(imap_server: ImapServer) -> None:
    with pytest.raises(MailboxError) as refused:
        open_mailbox(imap_server.settings(JANE, password="not-her-password"))
    sentence = str(refused.value)
    assert f"refused the password for {JANE}" in sentence and "IMAP_JANE_PASSWORD" in sentence
    assert "AUTHENTICATIONFAILED" in sentence and "b'" not in sentence
    assert "not-her-password" not in sentence and not isinstance(refused.value, MailboxDisconnected)


def test_a_missing_folder_is_one_sentence(imap_server: ImapServer) -> None:
    with pytest.raises(MailboxError, match='no folder "Nowhere".*IMAP_JANE_URL'):
        open_mailbox(imap_server.settings(JANE, folder="Nowhere"))


def test_a_certificate_from_an_unknown_ca_is_refused_in_one_sentence(imap_server: ImapServer) -> None:
    # The test CA is not in the system's store, so without ca_file the server cannot be trusted.
    with pytest.raises(MailboxError, match="certificate that could not be verified.*IMAP_JANE_CA_FILE"):
        open_mailbox(imap_server.settings(JANE, ca_file=None))


def test_an_unreachable_server_is_one_sentence(imap_server: ImapServer) -> None:
    with socket_that_refuses() as port, pytest.raises(MailboxError) as refused:
        open_mailbox(imap_server.settings(JANE, port=port), timeout=5)
    assert f"Cannot reach the IMAP server 127.0.0.1:{port} (Connection refused); check IMAP_JANE_URL" in str(refused.value)


@contextmanager
def socket_that_refuses() -> Iterator[int]:
    """A loopback port nobody listens on, for as long as the block runs: bound, so no one else takes it, but not
    listening, so connections are refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


# -- reading and flagging --------------------------------------------------------------------------------------


def test_fetch_after_hands_over_exactly_the_messages_after_a_uid_in_order(imap_server: ImapServer,
                                                                          folder: str) -> None:
    raws = [message(f"Re: question {n}") for n in range(3)]
    uids = [imap_server.append(JANE, raw, folder) for raw in raws]
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        everything = mailbox.fetch_after(0)
        after_first = mailbox.fetch_after(uids[0])
        first_only = mailbox.fetch_after(0, limit=1)
        # "UID n:*" names the newest message even when n is past it; nothing after the last is nothing.
        after_last = mailbox.fetch_after(uids[-1])
    assert [(m.uid, m.raw) for m in everything] == list(zip(uids, raws))
    assert [m.uid for m in after_first] == uids[1:]
    assert [m.uid for m in first_only] == uids[:1]
    assert after_last == []
    assert all(not m.truncated and m.size == len(m.raw) for m in everything)
    assert isinstance(everything[0].internal_date, datetime) and everything[0].internal_date.tzinfo is not None
    # Reading marked nothing as read.
    assert all(b"\\Seen" not in imap_server.flags(JANE, uid, folder) for uid in uids)


def test_a_huge_message_is_cut_at_max_bytes(imap_server: ImapServer, folder: str) -> None:
    huge = message("Re: the attachment", body="See the scan below.") + b"y" * (3 << 20) + b"\r\n"
    uid = imap_server.append(JANE, huge, folder)
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        [cut] = mailbox.fetch_after(0, max_bytes=64 * 1024)
        [whole] = mailbox.fetch_after(0, max_bytes=len(huge))
    assert (cut.uid, cut.raw, cut.truncated, cut.size) == (uid, huge[:64 * 1024], True, len(huge))
    assert (whole.raw, whole.truncated) == (huge, False)


def test_mark_processed_adds_the_keyword_and_leaves_the_message_unread_and_in_place(imap_server: ImapServer,
                                                                                   folder: str) -> None:
    uids = [imap_server.append(JANE, message(f"Re: hello {n}"), folder) for n in range(2)]
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        mailbox.mark_processed(uids[:1])
        still_there = [m.uid for m in mailbox.fetch_after(0)]
    assert PROCESSED_KEYWORD.encode() in imap_server.flags(JANE, uids[0], folder)
    assert b"\\Seen" not in imap_server.flags(JANE, uids[0], folder)
    assert PROCESSED_KEYWORD.encode() not in imap_server.flags(JANE, uids[1], folder)
    assert still_there == uids and imap_server.count(JANE, folder) == 2


# -- OAuth -----------------------------------------------------------------------------------------------------


def test_xoauth2_logs_in_with_a_token_from_the_token_endpoint(imap_server: ImapServer, folder: str) -> None:
    uid = imap_server.append(JANE, message("Re: via OAuth"), folder)
    settings = imap_server.oauth_settings(JANE, folder=folder)
    asked_before = len(imap_server.oauth.requests_for(JANE))
    with open_mailbox(settings) as mailbox:
        assert [m.uid for m in mailbox.fetch_after(0)] == [uid]
    assert len(imap_server.oauth.requests_for(JANE)) == asked_before + 1


def test_an_expired_token_is_renewed_and_reading_goes_on(imap_server: ImapServer, folder: str) -> None:
    oauth = imap_server.oauth
    settings = imap_server.oauth_settings(JANE, folder=folder)
    first = imap_server.append(JANE, message("Re: one"), folder)
    with open_mailbox(settings) as mailbox:
        assert [m.uid for m in mailbox.fetch_after(0)] == [first]
        asked = len(oauth.requests_for(JANE))
        oauth.expire_all()  # an hour passes: the token in hand is no longer good
        second = imap_server.append(JANE, message("Re: two"), folder)
        assert [m.uid for m in mailbox.fetch_after(first)] == [second]  # a session already open goes on
    refused_before = oauth.introspections.count(False)
    with open_mailbox(settings) as mailbox:  # the cached token is refused; a fresh one is fetched and works
        assert [m.uid for m in mailbox.fetch_after(first)] == [second]
    assert len(oauth.requests_for(JANE)) == asked + 1
    assert oauth.introspections.count(False) == refused_before + 1


def test_a_refused_refresh_token_is_one_sentence_without_the_token(imap_server: ImapServer) -> None:
    refresh_token = imap_server.oauth.new_refresh_token(JANE)
    imap_server.oauth.revoke(refresh_token)
    with pytest.raises(MailboxError) as refused:
        open_mailbox(imap_server.oauth_settings(JANE, refresh_token=refresh_token))
    sentence = str(refused.value)
    assert "refused the refresh token (invalid_grant: Token has been expired or revoked.)" in sentence
    assert imap_server.oauth.token_url in sentence and "(IMAP_JANE_OAUTH_REFRESH_TOKEN)" in sentence
    assert refresh_token not in sentence and imap_server.oauth.client_secret not in sentence


def test_access_tokens_are_renewed_shortly_before_they_expire() -> None:
    now = [1000.0]
    answers = iter([(200, b'{"access_token": "first", "expires_in": 600, "refresh_token": "rotated"}'),
                    (200, b'{"access_token": "second", "expires_in": 600}')])
    sent: list[dict[str, str]] = []

    def post(url: str, fields: object, timeout: float) -> tuple[int, bytes]:
        sent.append(dict(fields))  # type: ignore[call-overload]
        return next(answers)

    tokens = AccessTokens(OAuthSettings("https://idp.test/token", "client", "secret", "refresh", "mail"),
                          http_post=post, clock=lambda: now[0])
    assert tokens.current() == "first"
    now[0] += 530
    assert tokens.current() == "first"
    now[0] += 20  # within a minute of expiry
    assert tokens.current() == "second"
    assert sent[0] == {"grant_type": "refresh_token", "refresh_token": "refresh", "client_id": "client",
                       "client_secret": "secret", "scope": "mail"}
    assert sent[1]["refresh_token"] == "rotated"  # a provider that rotates refresh tokens gets the newest back


def test_an_unreachable_token_endpoint_is_one_sentence() -> None:
    with socket_that_refuses() as port:
        tokens = AccessTokens(OAuthSettings(f"http://127.0.0.1:{port}/token", "client", "secret", "refresh"))
        with pytest.raises(OAuthError, match=f"Cannot reach the token endpoint http://127.0.0.1:{port}/token .*; check the address"):
            tokens.current()


# -- waiting for mail ------------------------------------------------------------------------------------------


def test_idle_wakes_up_when_mail_arrives(imap_server: ImapServer, folder: str) -> None:
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        assert mailbox.supports_idle()
        assert mailbox.wait_for_mail(0.3) is False
        delivery = threading.Timer(0.5, imap_server.append, args=(JANE, message("Re: now"), folder))
        delivery.start()
        started = time.monotonic()
        try:
            assert mailbox.wait_for_mail(60) is True
        finally:
            delivery.join()
        assert time.monotonic() - started < 30  # woke for the mail, well before the minute was up
        assert len(mailbox.fetch_after(0)) == 1


def test_without_idle_it_polls(imap_server: ImapServer, folder: str) -> None:
    with open_mailbox(imap_server.settings(JANE, folder=folder), use_idle=False) as mailbox:
        assert not mailbox.supports_idle()
        assert mailbox.wait_for_mail(0.2) is False
        imap_server.append(JANE, message("Re: polled"), folder)
        assert mailbox.wait_for_mail(0.2) is True
        assert len(mailbox.fetch_after(0)) == 1


# -- the connection dropping -----------------------------------------------------------------------------------


def test_a_server_restart_mid_session_loses_nothing(imap_server: ImapServer, folder: str) -> None:
    uids = [imap_server.append(JANE, message(f"Re: batch {n}"), folder) for n in range(3)]
    settings = imap_server.settings(JANE, folder=folder)
    mailbox = open_mailbox(settings)
    [handed] = mailbox.fetch_after(0, limit=1)
    stored_uid = handed.uid  # what the caller would keep
    imap_server.restart()
    with pytest.raises(MailboxDisconnected, match="connection to mailbox jane .* dropped while"):
        mailbox.fetch_after(stored_uid)
    with pytest.raises(MailboxDisconnected):
        mailbox.mark_processed([stored_uid])
    mailbox.close()
    later = imap_server.append(JANE, message("Re: after the restart"), folder)
    with open_mailbox(settings) as again:
        assert again.uidvalidity == mailbox.uidvalidity
        assert [m.uid for m in again.fetch_after(stored_uid)] == [*uids[1:], later]


def test_a_server_restart_while_idling_is_a_disconnection(imap_server: ImapServer, folder: str) -> None:
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        restart = threading.Timer(0.5, imap_server.restart)
        restart.start()
        try:
            with pytest.raises(MailboxDisconnected):
                mailbox.wait_for_mail(60)
        finally:
            restart.join()
    with open_mailbox(imap_server.settings(JANE, folder=folder)) as mailbox:
        assert mailbox.fetch_after(0) == []


def test_a_closed_mailbox_says_it_is_not_connected(imap_server: ImapServer) -> None:
    mailbox = Mailbox(imap_server.settings(JANE))
    with pytest.raises(MailboxDisconnected, match="not connected"):
        mailbox.fetch_after(0)


# -- the environment -------------------------------------------------------------------------------------------


def test_mailboxes_from_env_reads_each_listed_mailbox(tmp_path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {
        "IMAP_MAILBOXES": "jane, sales-sam,unsubscribe",
        "IMAP_CA_FILE": str(ca_file),
        "IMAP_JANE_URL": "imaps://jane@example.com@imap.gmail.com/INBOX",
        "IMAP_JANE_OAUTH": "google",
        "IMAP_JANE_OAUTH_CLIENT_ID": "client-id",
        "IMAP_JANE_OAUTH_CLIENT_SECRET": "client-secret",
        "IMAP_JANE_OAUTH_REFRESH_TOKEN": "refresh-token",
        "IMAP_SALES_SAM_URL": "imaps://sam%40example.com@outlook.office365.com:993/Sales%20Replies",
        "IMAP_SALES_SAM_OAUTH": "Microsoft",
        "IMAP_SALES_SAM_OAUTH_CLIENT_ID": "public-client",
        "IMAP_SALES_SAM_OAUTH_REFRESH_TOKEN": "sam-refresh",
        "IMAP_UNSUBSCRIBE_URL": "imaps://unsubscribe@mail.example.com:10993",
        "IMAP_UNSUBSCRIBE_PASSWORD": "app password",
        "IMAP_UNSUBSCRIBE_ROLE": "unsubscribe",
    }
    jane, sam, unsubscribe = mailboxes_from_env(env)
    assert (jane.name, jane.host, jane.port, jane.username, jane.folder, jane.role, jane.password) == \
        ("jane", "imap.gmail.com", 993, "jane@example.com", "INBOX", "replies", None)
    assert jane.oauth == OAuthSettings("https://oauth2.googleapis.com/token", "client-id", "client-secret",
                                       "refresh-token", "")
    assert (sam.name, sam.host, sam.username, sam.folder) == ("sales-sam", "outlook.office365.com",
                                                              "sam@example.com", "Sales Replies")
    assert sam.oauth is not None and sam.oauth.client_secret == ""
    assert sam.oauth.token_url == "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    assert sam.oauth.scope == "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"
    assert (unsubscribe.port, unsubscribe.folder, unsubscribe.password, unsubscribe.role) == \
        (10993, "INBOX", "app password", "unsubscribe")
    assert {box.ca_file for box in (jane, sam, unsubscribe)} == {str(ca_file)}
    # Secrets stay out of reprs, which end up in logs.
    assert not {"client-secret", "refresh-token", "app password"} & set(repr([jane, sam, unsubscribe]).split("'"))
    assert mailboxes_from_env({}) == []


GOOD = {"IMAP_MAILBOXES": "jane", "IMAP_JANE_URL": "imaps://jane@example.com@imap.example.com/INBOX",
        "IMAP_JANE_PASSWORD": "secret-password"}


@pytest.mark.parametrize(("changes", "sentence"), [
    ({"IMAP_MAILBOXES": "jane,j@ne"}, 'IMAP_MAILBOXES lists "j@ne": a mailbox name is letters'),
    ({"IMAP_MAILBOXES": "sales-jane,sales_jane"}, "share the variables IMAP_SALES_JANE_*"),
    ({"IMAP_JANE_URL": ""}, "IMAP_JANE_URL is not set: IMAP_MAILBOXES lists jane"),
    ({"IMAP_JANE_URL": "imap://jane@imap.example.com"}, "IMAP_JANE_URL starts with imap://: prospectbot reads mail over TLS only"),
    ({"IMAP_JANE_URL": "https://imap.example.com"}, "IMAP_JANE_URL must look like imaps://"),
    ({"IMAP_JANE_URL": "imaps://imap.example.com/INBOX"}, "IMAP_JANE_URL has no user name"),
    ({"IMAP_JANE_URL": "imaps://jane:hunter2@imap.example.com"}, "IMAP_JANE_URL holds a password: put it in IMAP_JANE_PASSWORD"),
    ({"IMAP_JANE_URL": "imaps://jane@imap.example.com:99999"}, "IMAP_JANE_URL needs a server name and, if not 993, a port"),
    ({"IMAP_JANE_URL": "imaps://jane@imap.example.com/Why?"}, 'IMAP_JANE_URL has "?" or "#"'),
    ({"IMAP_JANE_PASSWORD": ""}, "IMAP_JANE_PASSWORD is not set: mailbox jane needs an app password, or OAuth"),
    ({"IMAP_JANE_OAUTH": "google"}, "Set either IMAP_JANE_PASSWORD or the IMAP_JANE_OAUTH* variables"),
    ({"IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH": "yahoo"}, "IMAP_JANE_OAUTH must be google or microsoft"),
    ({"IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH_CLIENT_ID": "x", "IMAP_JANE_OAUTH_REFRESH_TOKEN": "y"},
     "IMAP_JANE_OAUTH_TOKEN_URL is not set"),
    ({"IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH_TOKEN_URL": "http://idp.example.com/token"},
     "IMAP_JANE_OAUTH_TOKEN_URL must be an https:// address"),
    ({"IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH": "google", "IMAP_JANE_OAUTH_REFRESH_TOKEN": "y"},
     "IMAP_JANE_OAUTH_CLIENT_ID is not set"),
    ({"IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH": "google", "IMAP_JANE_OAUTH_CLIENT_ID": "x"},
     "IMAP_JANE_OAUTH_REFRESH_TOKEN is not set"),
    ({"IMAP_JANE_ROLE": "bounces"}, "IMAP_JANE_ROLE must be replies (a sending mailbox) or unsubscribe"),
    ({"IMAP_CA_FILE": "/nowhere/ca.pem"}, "IMAP_CA_FILE names /nowhere/ca.pem, which is not a file"),
    ({"IMAP_JANE_CA_FILE": "/nowhere/ca.pem"}, "IMAP_JANE_CA_FILE names /nowhere/ca.pem"),
])
def test_mailboxes_from_env_refuses_in_one_sentence(changes: dict[str, str], sentence: str) -> None:
    with pytest.raises(MailboxConfigurationError) as refused:
        mailboxes_from_env({**GOOD, **changes})
    assert sentence in str(refused.value)
    assert "secret-password" not in str(refused.value) and "hunter2" not in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_a_loopback_token_url_may_be_plain_http() -> None:
    env = {**GOOD, "IMAP_JANE_PASSWORD": "", "IMAP_JANE_OAUTH_TOKEN_URL": "http://127.0.0.1:8080/token",
           "IMAP_JANE_OAUTH_CLIENT_ID": "x", "IMAP_JANE_OAUTH_REFRESH_TOKEN": "y"}
    [jane] = mailboxes_from_env(env)
    assert isinstance(jane, MailboxSettings) and jane.oauth is not None
    assert jane.oauth.token_url == "http://127.0.0.1:8080/token"
