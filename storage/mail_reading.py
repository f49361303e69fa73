"""Reading one inbound email, offline and without ever failing: what kind it is (a bounce, an automatic reply, a
person's reply, or bytes that are not mail), which of our messages it answers, who it is from and to, and a
reply's own new text for ``storage.reply_intent.classify_reply``.

Fetching (IMAP) and acting (do not contact, Slack) are the caller's; this module only reads bytes. Bounces win
over automatic replies (a delivery report sent with ``Auto-Submitted: auto-replied`` is still a bounce), and an
automatic reply never counts as the person's answer — except a text that only reads like an away notice and also
asks, in the person's words, to stop: that is a person writing.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.utils import getaddresses

from storage.auto_replies import auto_reply_evidence
from storage.bounces import read_bounce
from storage.mail_text import Headers, MailContent, read_content
from storage.quoted_history import quotes_history, reply_text
from storage.reply_intent import classify_reply

__all__ = ["KINDS", "InboundMail", "read_mail"]

KINDS = ("hard_bounce", "soft_bounce", "auto_reply", "reply", "unreadable")
# Past this the rest is attachments; a reply, a bounce and the original it returns fit far inside it.
MAX_RAW_BYTES = 4 * 1024 * 1024
# Headers of which at least one is in every email; bytes with none of them are not one.
_MAIL_HEADERS = {"from", "to", "cc", "subject", "date", "message-id", "received", "return-path", "sender",
                 "reply-to", "in-reply-to", "references", "mime-version", "content-type", "delivered-to"}
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class InboundMail:
    kind: str  # one of KINDS
    message_id: str | None  # its own Message-ID, without angle brackets, as written
    refers_to: tuple[str, ...]  # Message-IDs from In-Reply-To then References, without brackets, each once
    from_address: str | None  # the addr-spec of From, as written
    to_addresses: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To, Envelope-To
    subject: str  # decoded, "" if none
    new_text: str  # the reply's own new text: no quoted history, forwarded parts or signatures
    bounced_recipients: tuple[str, ...]
    bounce_status: str | None  # "5.1.1", "4.2.2" …
    original_message_ids: tuple[str, ...]  # the bounced original's Message-ID(s)
    problems: tuple[str, ...]  # what could not be read, one short sentence each


def read_mail(raw: bytes) -> InboundMail:
    """Read one raw message (RFC 5322 bytes, as fetched). Never raises: what cannot be read is in ``problems``,
    and bytes that are not an email at all come back as kind "unreadable"."""
    try:
        return _read(raw)
    except Exception as error:  # the last guard: a mailbox must never stop on one message
        return _unreadable(f"The message could not be read ({type(error).__name__}).")


def _unreadable(problem: str, problems: tuple[str, ...] = ()) -> InboundMail:
    return InboundMail("unreadable", None, (), None, (), "", "", (), None, (), (*problems, problem))


def _read(raw: bytes) -> InboundMail:
    problems: list[str] = []
    if not isinstance(raw, bytes):
        raw = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    if not raw.strip():
        return _unreadable("The message is empty.")
    if len(raw) > MAX_RAW_BYTES:
        raw = raw[:MAX_RAW_BYTES]
        problems.append("The message is larger than 4 MiB; only its first 4 MiB were read.")
    message = email.message_from_bytes(raw)
    headers = Headers(message, problems)
    if headers.names().isdisjoint(_MAIL_HEADERS):
        return _unreadable("This is not an email: it has none of the From, To, Subject, Date or Message-ID headers.",
                           tuple(problems))
    subject = headers.first("Subject")
    sender_field = headers.first("From")
    content = read_content(message)
    problems.extend(sentence for sentence in content.problems if sentence not in problems)
    text = content.text
    new_text = reply_text(text)
    kind, bounced, status, original_ids = _kind(headers, content, subject, sender_field, text, new_text, problems)
    froms = _addresses([sender_field])
    message_ids = _message_ids(headers.all("Message-ID")[:1])
    return InboundMail(
        kind=kind,
        message_id=message_ids[0] if message_ids else None,
        refers_to=_message_ids(headers.all("In-Reply-To") + headers.all("References")),
        from_address=froms[0] if froms else None,
        to_addresses=_addresses([value for name in _RECIPIENT_HEADERS for value in headers.all(name)]),
        subject=subject,
        new_text=new_text,
        bounced_recipients=bounced,
        bounce_status=status,
        original_message_ids=original_ids,
        problems=tuple(problems),
    )


def _kind(headers: Headers, content: MailContent, subject: str, sender: str, text: str, new_text: str,
          problems: list[str]) -> tuple[str, tuple[str, ...], str | None, tuple[str, ...]]:
    bounce = read_bounce(headers, content, subject, sender, text, problems)
    if bounce is not None:
        return bounce.kind, bounce.recipients, bounce.status, bounce.original_message_ids
    if content.report_type in ("delivery-status", "disposition-notification"):
        return "auto_reply", (), None, ()  # "delivered" reports and read receipts: machines, not people
    evidence = auto_reply_evidence(headers, subject, new_text)
    # An away notice found only in the text is a person writing if they quote our message, ask something, or ask
    # to stop: automatic replies do none of these.
    if evidence == "text" and ("?" in new_text or quotes_history(text) or classify_reply(new_text).kind != "none"):
        evidence = None
    return ("auto_reply" if evidence else "reply"), (), None, ()


_PLAIN_ADDRESS = re.compile(r"\s*(?:[^<>@,;:\"()]*<([^<>@\s]+@[^<>\s]+)>|([^<>@\s,;:\"()]+@[^<>@\s,;:\"()]+))\s*")


def _addresses(values: list[str]) -> tuple[str, ...]:
    """The addr-specs in header values, as written, each once (compared without case)."""
    found: list[str] = []
    seen: set[str] = set()
    for _, address in _address_pairs(values):
        address = address.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            found.append(address)
    return tuple(found)


def _address_pairs(values: list[str]) -> list[tuple[str, str]]:
    # Most headers are "Name <addr>" or "addr": read those with one regex; anything else (quoted names with commas,
    # comments, groups) the library's full parser reads.
    pairs: list[tuple[str, str]] = []
    for value in values:
        pieces = [_PLAIN_ADDRESS.fullmatch(piece) for piece in value.split(",")] if '"' not in value else [None]
        if all(pieces):
            pairs.extend(("", match.group(1) or match.group(2)) for match in pieces if match)
            continue
        try:
            pairs.extend(getaddresses([value]))
        except Exception:
            continue
    return pairs


def _message_ids(values: list[str]) -> tuple[str, ...]:
    ids: list[str] = []
    for value in values:
        bracketed = _ANGLE_ID.findall(value)
        ids.extend(bracketed or [token.strip("<>") for token in value.split() if token.strip("<>")])
    return tuple(dict.fromkeys(ids))
