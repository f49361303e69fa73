"""The small, plain pages a person sees when they follow an unsubscribe link. No scripts, no tracking."""

from __future__ import annotations

from html import escape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5;
color:#222}}
button{{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #444;background:#fff;
cursor:pointer}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def page(title: str, body_html: str) -> bytes:
    return PAGE.format(title=escape(title), body=body_html).encode()


def confirm_page(sender: str, masked_email: str | None, action: str) -> bytes:
    whom = f" to {escape(masked_email)}" if masked_email else ""
    return page("Unsubscribe", f"<p>Stop emails from {escape(sender)}{whom}?</p>"
                f'<form method="post" action="{escape(action)}"><button type="submit">Unsubscribe</button></form>')


def done_page(sender: str, masked_email: str | None, already: bool) -> bytes:
    whom = escape(masked_email) if masked_email else "this address"
    text = f"{whom} was already unsubscribed." if already else f"Done: {escape(sender)} will not email {whom} again."
    return page("Unsubscribed", f"<p>{text}</p>")


def not_found_page() -> bytes:
    return page("Link not recognised", "<p>This unsubscribe link is not valid. Please use the link from the email "
                "exactly as it was sent.</p>")


def unavailable_page() -> bytes:
    return page("Please try again", "<p>We could not record your request just now. Please try again in a few "
                "minutes.</p>")
