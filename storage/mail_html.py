"""HTML mail as the text a person reads: scripts, styles and hidden parts dropped, blocks on their own lines, and the
quoted history mail clients mark in HTML left out — Gmail's ``gmail_quote``, Apple Mail's and Thunderbird's
``blockquote``, Yahoo's ``yahoo_quoted``, and everything after Outlook's ``divRplyFwdMsg``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# HTML is read up to twice this many characters, and its text kept up to this many.
TEXT_LIMIT = 256 * 1024

_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
               "hr", "section", "article", "header", "footer", "dd", "dt", "center"}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr", "param"}
_HIDDEN_TAGS = {"script", "style", "head", "title", "template", "noscript", "xml"}
# Quoted history and signatures as mail clients mark them in HTML: Gmail, Yahoo, Thunderbird, ProtonMail, Zoho.
_QUOTE_CLASSES = ("gmail_quote", "gmail_extra", "gmail_signature", "yahoo_quoted", "moz-cite-prefix",
                  "protonmail_quote", "zmail_extra", "x_gmail_quote", "ms-outlook-mobile-signature")
# Outlook puts everything after the reply in one flow after these markers: the rest of the document is history.
_HISTORY_STARTS = ("appendonsend", "divrplyfwdmsg", "stopspelling", "x_divrplyfwdmsg", "x_appendonsend")


class _HtmlText(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.size = 0
        self.limit = limit
        self.skip_tag = ""
        self.skip_nesting = 0
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if self.skip_tag:
            if tag == self.skip_tag and tag not in _VOID_TAGS:
                self.skip_nesting += 1
            return
        marks = " ".join(f"{value or ''}" for name, value in attrs if name in ("class", "id", "type")).lower()
        if any(mark in marks for mark in _HISTORY_STARTS):
            self.stopped = True
            return
        if tag in _HIDDEN_TAGS or tag == "blockquote" or any(mark in marks for mark in _QUOTE_CLASSES):
            if tag not in _VOID_TAGS:
                self.skip_tag, self.skip_nesting = tag, 1
            return
        if tag in _BLOCK_TAGS:
            self._add("\n")
        if tag == "li":
            self._add("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_nesting -= 1
                if self.skip_nesting <= 0:
                    self.skip_tag = ""
            return
        if tag in _BLOCK_TAGS and not self.stopped:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_tag and not self.stopped:
            self._add(_WHITESPACE.sub(" ", data))

    def _add(self, text: str) -> None:
        if self.size < self.limit:
            self.pieces.append(text)
            self.size += len(text)


_WHITESPACE = re.compile(r"\s+")
_SPACES_AROUND_NEWLINE = re.compile(r"[ \t\u00a0]*\n[ \t\u00a0]*")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html: str, limit: int = TEXT_LIMIT) -> str:
    """Readable text of an HTML body, without scripts, styles, blockquotes and clients' quoted history."""
    parser = _HtmlText(limit)
    try:
        parser.feed(html[: limit * 2])
        parser.close()
    except Exception:  # the parser is lenient, but a reply is never lost to a tag it chokes on
        pass
    text = "".join(parser.pieces).replace("\u00a0", " ")
    text = _SPACES_AROUND_NEWLINE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()
