"""Bounces: a delivery report (RFC 3464 ``multipart/report; report-type=delivery-status``) read field by field, and
the bounces that are not reports — Gmail's "Address not found", Microsoft 365's "Undeliverable:" (and its
translations), Postfix's "Undelivered Mail Returned to Sender", Exim's "Mail delivery failed", qmail, Sendmail —
recognised by who sent them, their subject and the SMTP replies they quote.

A hard bounce (5.x.x, "failed") means the address does not take mail and should not be tried again; a soft one
(4.x.x, "delayed", "will retry") means it might later. The recipient is taken from the report, else from the
text's usual phrasings, else from the returned original's To; nothing is guessed when the text names several.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from storage.mail_text import Headers, MailContent, header_text

__all__ = ["Bounce", "read_bounce"]


@dataclass(frozen=True)
class Bounce:
    kind: str  # "hard_bounce" or "soft_bounce"
    recipients: tuple[str, ...]
    status: str | None
    original_message_ids: tuple[str, ...]


_ADDRESS = r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"
_ADDRESS_ONLY = re.compile(_ADDRESS)
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_BASIC_THEN_ENHANCED = re.compile(r"\b([45]\d\d)[ -]+#?([45]\.\d{1,3}\.\d{1,3})\b")
_BASIC_REPLY = re.compile(
    r"(?:said|error|response|returned|reply|rejected|code|smtp)[^\n\d]{0,40}?['\"(:\s]([45]\d\d)\b"
    r"|^[ \t]*([45]\d\d)[ :-]",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-?ID[ \t]*:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")

_DAEMON_SENDER = re.compile(
    r"mailer-?daemon|postmaster|mail delivery (?:system|subsystem)|mail-daemon|microsoftexchange[0-9a-f]*@"
    r"|mail administrator|delivery status notification",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|delivery (?:has )?fail|delivery failure|failure notice"
    r"|mail delivery failed|returned mail|returned to sender|not (?:be )?delivered|could not be delivered"
    r"|delivery (?:delayed|delay)|delayed mail|message (?:\S+ )?delayed|still being retried|address not found"
    r"|non remis|non distribuable|no se puede entregar|no entregad|no se pudo entregar|unzustellbar"
    r"|nicht zustellbar|zustellung (?:verz|fehl)|non recapitabile|impossibile recapitare|n(?:ã|a)o entregue"
    r"|n(?:ã|a)o (?:é|e) poss(?:í|i)vel entregar|retard|retrasad|verz(?:ö|o)gert|ritardat|atrasad",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"\b[45]\d\d[ -]+#?[45]\.\d{1,3}\.\d{1,3}\b|said:\s*[45]\d\d\b|recipientnotfound|user unknown|unknown user"
    r"|no such (?:user|mailbox|recipient)|(?:address|recipient|user) not found|mailbox (?:unavailable|not found"
    r"|does not exist|is full|full|quota)|does not exist|doesn't exist|couldn't be found|could not be found"
    r"|recipient address rejected|over quota|quota exceeded|delivery (?:has )?failed|permanent (?:error|failure)"
    r"|failed permanently|temporary (?:error|failure|problem)|(?:will|'ll) (?:continue to |keep )?(?:re)?try"
    r"|still (?:being )?retried|has not (?:yet )?been delivered|couldn't be delivered|could not be delivered"
    r"|wasn't delivered|was not delivered|delivery error|the following address(?:es)? failed",
    re.IGNORECASE,
)
_TEMPORARY_TEXT = re.compile(
    r"delay|temporar|will (?:continue to |keep )?(?:re)?try|'ll retry|retrying|still (?:being )?retried"
    r"|not yet been delivered|retras|retard|verz(?:ö|o)ger|ritard|atras|vorübergehend|temporal",
    re.IGNORECASE,
)
# The usual phrasings that name the failed recipient, most specific first.
_RECIPIENT_PHRASES = [
    re.compile(r"^[ \t]*<(" + _ADDRESS + r")>[^\n]{0,80}?:[ \t]*(?:\n|host|said|[^\n]{0,10}(?:user|mailbox|no ))",
               re.IGNORECASE | re.MULTILINE),  # Postfix, qmail: "<jane@x>: host mx[1.2.3.4] said: 550 …"
    re.compile(r"following (?:address(?:\(es\)|es)?|recipients?(?:\(s\))?) failed[^:\n]{0,20}:\s*\n?\s*<?("
               + _ADDRESS + r")", re.IGNORECASE),  # Exim, Gmail
    re.compile(r"delivery to the following recipients?(?:\(s\))? (?:failed|has been delayed)[^:\n]{0,20}:\s*<?("
               + _ADDRESS + r")", re.IGNORECASE),
    re.compile(r"delivery (?:has failed|is delayed|has been delayed) to these recipients(?: or groups)?:?\s*"
               r"(?:[^\n@]{0,80}\()?<?("
               + _ADDRESS + r")", re.IGNORECASE),  # Exchange
    re.compile(r"(?:wasn't|was not|couldn't be|could not be|hasn't been|has not been) delivered to\s*<?("
               + _ADDRESS + r")", re.IGNORECASE),  # Gmail
    re.compile(r"(?:your )?message to\s*<?(" + _ADDRESS + r")>? (?:couldn't|could not|hasn't|has not|was not|wasn't)",
               re.IGNORECASE),  # Microsoft 365
    re.compile(r"(?:nachricht an|mensaje (?:a|para)|message (?:à|a|pour)|mensagem (?:para|a)|messaggio (?:a|per)"
               r"|recapitare (?:il messaggio )?a|entregar (?:a|para)|zugestellt werden an)\s*:?\s*<?("
               + _ADDRESS + r")",
               re.IGNORECASE),  # Microsoft 365 in other languages
    re.compile(r"^[ \t]*<(" + _ADDRESS + r")>\.\.\.", re.IGNORECASE | re.MULTILINE),  # Sendmail
    re.compile(r"RCPT TO:?\s*<(" + _ADDRESS + r")>", re.IGNORECASE),
    re.compile(r"^[ \t]*(?:Final|Original)-Recipient:\s*(?:[\w-]+;)?\s*<?(" + _ADDRESS + r")", re.IGNORECASE
               | re.MULTILINE),
]
_NOT_A_RECIPIENT = re.compile(r"^(?:mailer-?daemon|postmaster|noreply|no-reply|abuse|hostmaster)@", re.IGNORECASE)


def read_bounce(headers: Headers, content: MailContent, subject: str, sender: str, text: str,
                problems: list[str]) -> Bounce | None:
    """The bounce this message is, or None when it is not one (a delivery report that only says "delivered"
    is not a bounce)."""
    original_ids = _original_message_ids(content, text)
    if content.delivery_status:
        bounce = _from_report(content, original_ids)
        if bounce is not None:
            if not bounce.recipients:
                bounce = _with_text_recipients(bounce, headers, content, text, problems)
            return bounce
        if _reports_only_success(content):
            return None
    if not _looks_like_bounce(headers, subject, sender, text):
        return None
    status = _status_in_text(text)
    if status is not None:
        kind = "soft_bounce" if status.startswith("4") else "hard_bounce"
    else:
        temporary = _TEMPORARY_TEXT.search(subject) or _TEMPORARY_TEXT.search(text[:3000])
        kind = "soft_bounce" if temporary else "hard_bounce"
    bounce = Bounce(kind, (), status if status and "." in status else None, original_ids)
    return _with_text_recipients(bounce, headers, content, text, problems)


def _from_report(content: MailContent, original_ids: tuple[str, ...]) -> Bounce | None:
    hard: list[tuple[list[str], str | None]] = []
    soft: list[tuple[list[str], str | None]] = []
    for block in content.delivery_status:
        fields: dict[str, str] = {}
        for name, value in block:
            fields.setdefault(name, value)
        if not {"final-recipient", "original-recipient", "action", "status"} & fields.keys():
            continue
        action = (fields.get("action", "").split() or [""])[0].lower()
        if action in ("delivered", "relayed", "expanded"):
            continue
        status = _status_in_text(fields.get("status", "")) or _status_in_text(fields.get("diagnostic-code", ""))
        recipients = [address for address in (_report_address(fields.get("original-recipient", "")),
                                              _report_address(fields.get("final-recipient", ""))) if address]
        if action == "delayed" or (status or "").startswith("4"):
            soft.append((recipients, status))
        else:
            hard.append((recipients, status))
    chosen, kind = (hard, "hard_bounce") if hard else (soft, "soft_bounce")
    if not chosen:
        return None
    status = next((status for _, status in chosen if status and "." in status), None)
    return Bounce(kind, _unique(address for addresses, _ in chosen for address in addresses), status, original_ids)


def _reports_only_success(content: MailContent) -> bool:
    actions = [value.split()[0].lower() for block in content.delivery_status for name, value in block
               if name == "action" and value.split()]
    return bool(actions) and all(action in ("delivered", "relayed", "expanded") for action in actions)


def _report_address(value: str) -> str:
    """``rfc822; jane@example.com`` → ``jane@example.com`` (also ``utf-8;`` and addresses in brackets)."""
    value = value.split(";", 1)[1] if ";" in value else value
    value = value.strip().strip("<>").strip()
    return value.split()[0].strip("<>") if value else ""


def _looks_like_bounce(headers: Headers, subject: str, sender: str, text: str) -> bool:
    from_daemon = bool(_DAEMON_SENDER.search(sender))
    null_sender = "Return-Path" in headers and headers.first("Return-Path").strip() in ("<>", "")
    failed_header = "X-Failed-Recipients" in headers
    subject_says = bool(_BOUNCE_SUBJECT.search(subject))
    if not (from_daemon or null_sender or failed_header or subject_says):
        return False  # a person's reply: its text is not searched for SMTP codes
    text_says = bool(_FAILURE_TEXT.search(text[:20000]))
    if from_daemon or null_sender:
        return subject_says or text_says or failed_header
    # A bounce relayed by a system that rewrote the sender still says so in both its subject and its text.
    return (subject_says and text_says) or (failed_header and (subject_says or text_says))


def _status_in_text(text: str) -> str | None:
    """The enhanced status code ("5.1.1") a text quotes, else its basic SMTP reply code ("550")."""
    if not text:
        return None
    match = _BASIC_THEN_ENHANCED.search(text)
    if match:
        return match.group(2)
    match = _ENHANCED_STATUS.search(text)
    if match:
        return ".".join(match.groups())
    match = _BASIC_REPLY.search(text)
    if match:
        return match.group(1) or match.group(2)
    return None


def _with_text_recipients(bounce: Bounce, headers: Headers, content: MailContent, text: str,
                          problems: list[str]) -> Bounce:
    recipients = _text_recipients(headers, content, text, problems)
    if not recipients:
        problems.append("The bounce does not say clearly which recipient failed.")
    return Bounce(bounce.kind, recipients, bounce.status, bounce.original_message_ids)


def _text_recipients(headers: Headers, content: MailContent, text: str, problems: list[str]) -> tuple[str, ...]:
    failed = [address for value in headers.all("X-Failed-Recipients")
              for address in _ADDRESS_ONLY.findall(value)]
    if failed:
        return _unique(failed)
    head = text[:20000]
    for phrase in _RECIPIENT_PHRASES:
        found = [match.group(1) for match in phrase.finditer(head)]
        found = [address.rstrip(".") for address in found if not _NOT_A_RECIPIENT.match(address)]
        if found:
            return _unique(found)
    for original in content.original_headers:
        addresses = _ADDRESS_ONLY.findall(header_text(original, "To", problems))
        if len(addresses) == 1:
            return (addresses[0],)
    return ()


def _original_message_ids(content: MailContent, text: str) -> tuple[str, ...]:
    ids: list[str] = []
    for original in content.original_headers:
        value = str(original.get("Message-ID", "") or "")
        ids.extend(_ANGLE_ID.findall(value) or value.split()[:1])
    if not ids:
        ids.extend(_MESSAGE_ID_LINE.findall(text))
    return _unique(ids)


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for address in addresses:
        key = address.lower()
        if address and key not in seen:
            seen.add(key)
            kept.append(address)
    return tuple(kept)
