"""Raw messages as they arrive in a sales mailbox: replies (with quoted history), RFC 3464 bounces and Gmail's own
bounce format. Built with the standard library's email package, so headers and encodings are real."""

from __future__ import annotations

import datetime as dt
import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

OURS = "Sam at Acme <sam@acme-sales.com>"
_serial = itertools.count(1)


def reply(sender: str, text: str, *, in_reply_to: str | None = None, references: str | None = None,
          subject: str = "Re: Hello from Acme", to: str = OURS, headers: dict[str, str] | None = None,
          quoted: str = "Hi there, would you like a demo? Unsubscribe: https://acme.example/unsubscribe/x") -> bytes:
    """A reply as a mail client writes it: the new text, then "On ... wrote:" and the quoted email (which itself
    says "Unsubscribe", as every campaign email does)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime(2026, 11, 30, 9, 0, next(_serial) % 60, tzinfo=dt.UTC))
    message["Message-ID"] = make_msgid(domain="mail.example")
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if in_reply_to or references:
        message["References"] = " ".join(f"<{mid}>" for mid in (references or in_reply_to or "").split())
    for name, value in (headers or {}).items():
        message[name] = value
    history = "\n".join(f"> {line}" for line in quoted.splitlines())
    message.set_content(f"{text}\n\nOn Mon, 30 Nov 2026 at 08:00, Sam <sam@acme-sales.com> wrote:\n{history}\n")
    return bytes(message)


def bounce(recipient: str, status: str, *, original: str | None = None, reporting_mta: str = "mx.acme-sales.com"
           ) -> bytes:
    """An RFC 3464 delivery status notification as Postfix writes it, with the original message's headers."""
    failed = status.startswith("5")
    code = "550" if failed else "452"
    subject = "Undelivered Mail Returned to Sender" if failed else "Delayed Mail (still being retried)"
    boundary = f"B{next(_serial)}.1700000000/{reporting_mta}"
    return f"""From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)
To: {OURS}
Subject: {subject}
Date: {format_datetime(dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC))}
Message-ID: {make_msgid(domain=reporting_mta)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {reporting_mta}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example[203.0.113.5] said: {code} {status} mailbox
    problem (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {reporting_mta}
Arrival-Date: Mon, 30 Nov 2026 09:29:58 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {"failed" if failed else "delayed"}
Status: {status}
Remote-MTA: dns; mx.example
Diagnostic-Code: smtp; {code} {status} mailbox problem

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: {OURS}
To: {recipient}
Subject: Hello from Acme
Message-ID: <{original or "unknown@acme-sales.com"}>

--{boundary}--
""".replace("\n", "\r\n").encode()


def delivery_failure_gmail(recipient: str) -> bytes:
    """Gmail's own bounce: no delivery-status part, the recipient and the SMTP status in the text."""
    message = EmailMessage()
    message["From"] = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    message["To"] = "sam@acme-sales.com"
    message["Subject"] = "Delivery Status Notification (Failure)"
    message["Date"] = format_datetime(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC))
    message["Message-ID"] = make_msgid(domain="mx.google.com")
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(f"** Address not found **\n\nYour message wasn't delivered to {recipient} because the "
                        "address couldn't be found, or is unable to receive mail.\n\nThe response from the remote "
                        "server was:\n550 5.1.1 The email account that you tried to reach does not exist.\n")
    return bytes(message)
