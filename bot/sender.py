"""The reference sender: `prospectbot send`. It shows sender authors how to honour the contract — select the
batch from `sendable_recipients`, re-check each person right before their message, put one-click unsubscribe
headers on every message, record what was sent — and proves it end to end."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from string import Template

from bot.settings import Settings, require_mail
from storage.campaigns import find_campaign
from storage.db import Database
from storage.errors import ProspectbotError
from storage.sending import Recipient, is_sendable, iter_sendable, record_activity
from storage.unsubscribe import unsubscribe_address_for, unsubscribe_token

# Long header lines are allowed up to 998 characters: folding would push the List-Unsubscribe URL onto a
# continuation line, which some mailbox providers read badly.
UNFOLDED = email.policy.SMTP.clone(max_line_length=998)
DEFAULT_SUBJECT = "A quick question, $first_name"
DEFAULT_BODY = "Hi $first_name,\n\nI hope all is well at $company.\n\nBest regards,\n$sender\n"


@dataclass
class SendReport:
    sent: int = 0
    skipped_since_selected: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: str = ""  # why the batch stopped early, when the mail server went away


class SmtpUnavailable(ProspectbotError):
    pass


def unsubscribe_url(settings: Settings, membership_id: int) -> str:
    return f"{settings.public_base_url}/unsubscribe/{unsubscribe_token(settings.secret_key, membership_id)}"


def compose(settings: Settings, recipient: Recipient, subject_template: str, body_template: str) -> EmailMessage:
    sender_display, sender_address = parseaddr(settings.mail_from)
    values = {
        "first_name": recipient.first_name or "there", "last_name": recipient.last_name,
        "company": recipient.company or "your company", "title": recipient.title, "email": recipient.email,
        "sender": sender_display or sender_address,
    }
    token = unsubscribe_token(settings.secret_key, recipient.membership_id)
    link = f"{settings.public_base_url}/unsubscribe/{token}"
    message = EmailMessage(policy=UNFOLDED)
    message["From"] = settings.mail_from
    message["To"] = recipient.email
    message["Subject"] = Template(subject_template or DEFAULT_SUBJECT).safe_substitute(values)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender_address.partition("@")[2] or None)
    # RFC 8058 one-click unsubscribe. The mail server's DKIM signature must cover both headers.
    # With an unsubscribe mailbox, the mailto: form beside it, for mail clients that only know that one; the https
    # link stays first, and only it is one-click.
    mailto = (f", <mailto:{unsubscribe_address_for(settings.unsubscribe_mailbox, token)}?subject=unsubscribe>"
              if settings.unsubscribe_mailbox else "")
    message["List-Unsubscribe"] = f"<{link}>{mailto}"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    body = Template(body_template or DEFAULT_BODY).safe_substitute(values)
    message.set_content(f"{body.rstrip()}\n\n--\nDon't want these emails? Unsubscribe: {link}\n")
    return message


def send_campaign(
    settings: Settings,
    database: Database,
    campaign_name: str,
    *,
    dry_run: bool = False,
    on_message: Callable[[EmailMessage], None] | None = None,
    before_each: Callable[[Recipient], None] | None = None,
) -> SendReport:
    require_mail(settings)
    with database.snapshot() as session:
        campaign = find_campaign(session, campaign_name)
        campaign_id, subject, body = campaign.id, campaign.subject_template, campaign.body_template
    report = SendReport()
    smtp = None if dry_run else _connect(settings)
    try:
        with database.snapshot(streaming=True) as batch:
            for recipient in iter_sendable(batch, campaign_id):
                if before_each is not None:
                    before_each(recipient)
                # The contract's one-row check, right before this person's message.
                with database.snapshot() as session:
                    still_sendable = is_sendable(session, campaign_id, recipient.prospect_id)
                if not still_sendable:
                    report.skipped_since_selected += 1
                    continue
                message = compose(settings, recipient, subject, body)
                if on_message is not None:
                    on_message(message)
                if dry_run:
                    continue
                try:
                    smtp = _deliver(settings, smtp, message)
                except SmtpUnavailable as error:
                    report.stopped = str(error)
                    break
                except smtplib.SMTPException as error:
                    report.failed.append((recipient.email, _smtp_reason(error)))
                    continue
                with database.transaction() as session:
                    # The Message-ID, so that a reply or a bounce finds the person and campaign it answers.
                    record_activity(session, campaign_id, recipient.prospect_id, "sent",
                                    message_id=message["Message-ID"].strip().strip("<>"))
                report.sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return report


def _connect(settings: Settings) -> smtplib.SMTP:
    if not settings.smtp_host:
        raise SmtpUnavailable("SMTP_HOST is not set: the mail server to send through (with SMTP_PORT, SMTP_USER, "
                              "SMTP_PASSWORD).")
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except (smtplib.SMTPException, OSError) as error:
        raise SmtpUnavailable(f"Can not use the mail server {settings.smtp_host}:{settings.smtp_port} "
                              f"({error}).") from None
    return smtp


def _deliver(settings: Settings, smtp: smtplib.SMTP | None, message: EmailMessage) -> smtplib.SMTP:
    """Sends one message; reconnects once if the server dropped the connection. Returns the live connection."""
    try:
        assert smtp is not None
        smtp.send_message(message)
        return smtp
    except smtplib.SMTPServerDisconnected:
        smtp = _connect(settings)
        smtp.send_message(message)
        return smtp


def _smtp_reason(error: smtplib.SMTPException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        said = text.decode(errors="replace") if isinstance(text, bytes) else text
        return f"refused by the mail server ({code} {said})"
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"mail server error {error.smtp_code} {detail}"
    return str(error)
