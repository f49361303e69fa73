"""The text inside a raw email, read without ever failing: header values decoded (RFC 2047, raw 8-bit), parts
decoded by their charset or, when the charset is unknown or lies, as UTF-8 then Windows-1252, HTML turned into
text with the quoted history left out, and the MIME tree walked once to find what a bounce or a reply needs.

Everything here tolerates what real mailboxes deliver: unknown charsets, 8-bit bytes in a part that says US-ASCII,
broken base64, missing boundaries, nesting hundreds deep, megabytes of attachments. What cannot be read is said in
``problems``, a short sentence each, and the rest is still read.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field
from email import message_from_string
from email.header import Header, decode_header
from email.message import Message

from storage.mail_html import html_to_text

__all__ = ["Headers", "MailContent", "decode_bytes", "header_text", "read_content"]

# Text parts are read up to this many characters in all: a reply, a bounce's explanation and a copy of the
# original's headers fit many times over, and a 40 MB newsletter pasted in a reply costs no more than this.
TEXT_LIMIT = 256 * 1024
MAX_PARTS = 200
MAX_DEPTH = 20

# Charsets whose bytes below 0x80 are ASCII: text in them that is pure ASCII needs no decoding decision.
_ASCII_SUPERSETS = {"ascii", "utf-8", "iso8859-1", "cp1252", "iso8859-15", "iso8859-2", "cp1250", "cp1251",
                    "koi8-r", "iso8859-9", "cp1254", "mac-roman", "gb2312", "gbk", "gb18030", "big5", "euc_kr",
                    "cp949", "shift_jis", "cp932", "euc_jp", "iso8859-7", "cp1253", "iso8859-5", "cp1257"}
# The labels senders write for "Western European" when the bytes are often something else.
_LATIN_LABELS = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}
# Codecs that decode Python literals or host names, not mail: a part labelled with one is read as undeclared.
_REFUSED_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}


@functools.lru_cache(maxsize=512)
def _codec_for(label: str) -> str | None:
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def decode_bytes(data: bytes, label: str | None, problems: list[str]) -> str:
    """``data`` as text: by its declared charset when that decodes cleanly; otherwise, and for undeclared,
    unknown or "Western" labels (which often hide UTF-8), as UTF-8, then Windows-1252 with replacement."""
    label = (label or "").strip().strip("\"'").lower()
    codec = _codec_for(label) if label else None
    if label and codec is None and label not in ("unknown-8bit", "x-unknown", "unknown"):
        _note(problems, f"Unknown character set “{label[:40]}”; read as UTF-8 or Windows-1252.")
    if data.isascii() and (codec is None or codec in _ASCII_SUPERSETS):
        return data.decode("ascii")
    if codec is not None and codec not in _LATIN_LABELS:
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError, ValueError):
            _note(problems, f"Text said to be in {label[:40]} is not; read as UTF-8 or Windows-1252.")
    # A valid multi-byte UTF-8 sequence is almost never accidental Latin-1 text, so UTF-8 goes first even
    # where the part says ISO-8859-1 or US-ASCII.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode("cp1252", errors="replace")


def _note(problems: list[str], sentence: str) -> None:
    if sentence not in problems and len(problems) < 20:
        problems.append(sentence)


class Headers:
    """A message's top-level headers, indexed once by lower-case name and decoded when first asked for."""

    def __init__(self, message: Message, problems: list[str]) -> None:
        self._raw: dict[str, list[object]] = {}
        self._decoded: dict[str, list[str]] = {}
        self._problems = problems
        try:
            pairs = message.items()
        except Exception:
            _note(problems, "The headers could not be read.")
            pairs = []
        for name, value in pairs:
            self._raw.setdefault(name.lower(), []).append(value)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._raw

    def names(self) -> set[str]:
        return set(self._raw)

    def all(self, name: str) -> list[str]:
        key = name.lower()
        if key not in self._decoded:
            self._decoded[key] = [_decode_header_value(value, self._problems) for value in self._raw.get(key, ())]
        return self._decoded[key]

    def first(self, name: str) -> str:
        values = self.all(name)
        return values[0] if values else ""


def header_text(message: Message, name: str, problems: list[str]) -> str:
    """The first value of one header of any message (a bounce's returned original, say), decoded."""
    try:
        value = message.get(name)
    except Exception:  # a header the library cannot even fold back into a string
        _note(problems, f"The {name} header could not be read.")
        return ""
    return "" if value is None else _decode_header_value(value, problems)


def _decode_header_value(value: object, problems: list[str]) -> str:
    try:
        if isinstance(value, Header):  # raw 8-bit bytes in the header: the library hands them back undecoded
            raw = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8", "surrogateescape")
                           for chunk, _ in decode_header(value))
            text = decode_bytes(raw, None, problems)
        else:
            text = str(value)
        if "=?" in text:
            text = _decode_encoded_words(text, problems)
    except Exception:
        _note(problems, "A header could not be decoded; it was read as it is.")
        text = str(value)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())


def _decode_encoded_words(text: str, problems: list[str]) -> str:
    pieces = []
    for chunk, charset in decode_header(text):
        if isinstance(chunk, str):
            pieces.append(chunk)
        else:
            pieces.append(decode_bytes(chunk, charset, problems))
    return "".join(pieces)


@dataclass
class MailContent:
    """What the MIME walk found: the body as text (plain preferred, HTML converted when there is no plain),
    a delivery report's fields, and the headers of an original message returned inside a bounce."""

    plain: str = ""
    html: str = ""
    report_type: str = ""
    delivery_status: list[list[tuple[str, str]]] = field(default_factory=list)
    original_headers: list[Message] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        if self.plain.strip():
            return self.plain
        return html_to_text(self.html) if self.html else self.plain


_DEFECT_SENTENCES = {
    "StartBoundaryNotFoundDefect": "The multipart message has no part boundaries; its body was read as one text.",
    "CloseBoundaryNotFoundDefect": "The message ends before its last MIME part is closed (truncated?).",
    "MultipartInvariantViolationDefect": "The message says it is multipart but is not.",
    "NoBoundaryInMultipartDefect": "A multipart part has no boundary.",
    "MissingHeaderBodySeparatorDefect": "A header line is malformed; the rest was read as the body.",
    "InvalidBase64PaddingDefect": "A base64 part is damaged (bad padding); what could be decoded was kept.",
    "InvalidBase64CharactersDefect": "A base64 part holds characters outside base64; they were skipped.",
    "InvalidBase64LengthDefect": "A base64 part is cut short; what could be decoded was kept.",
}


def read_content(message: Message) -> MailContent:
    """Walk the MIME tree (depth-first, without recursion, bounded) and collect what later rules read."""
    content = MailContent()
    budget = _Budget(TEXT_LIMIT)
    pending: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while pending:
        part, depth = pending.pop()
        seen += 1
        if seen > MAX_PARTS:
            _note(content.problems, f"The message has more than {MAX_PARTS} MIME parts; the rest were skipped.")
            break
        _note_defects(part, content.problems)
        content_type = _content_type(part)
        if content_type == "multipart/report" and not content.report_type:
            content.report_type = str(part.get_param("report-type", "") or "").lower()
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            content.delivery_status.extend(_status_blocks(part, content.problems))
            continue
        if content_type in ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"):
            _collect_original(part, content)
            continue
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                _note(content.problems, f"MIME parts nested deeper than {MAX_DEPTH} levels were skipped.")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                # Reversed onto the stack so that parts are read in their order in the message.
                pending.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
            continue
        if _is_attachment(part) or budget.left <= 0:
            continue
        if content_type == "text/html":
            content.html += _part_text(part, budget, content.problems)
        elif content_type in ("text/plain", "text/enriched"):  # not calendars, vCards or CSVs shown inline
            text = _part_text(part, budget, content.problems)
            content.plain += text if not content.plain else "\n" + text
    return content


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _note_defects(part: Message, problems: list[str]) -> None:
    for defect in getattr(part, "defects", ()):
        sentence = _DEFECT_SENTENCES.get(type(defect).__name__)
        if sentence:
            _note(problems, sentence)


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "") or "").lower()
    if disposition.startswith("attachment"):
        return True
    if disposition.startswith("inline") or "name" not in str(part.get("Content-Type", "") or "") + disposition:
        return False
    try:
        return bool(part.get_filename())
    except Exception:
        return False


class _Budget:
    """How many characters of text are still to be read from the message's parts."""

    def __init__(self, left: int) -> None:
        self.left = left


def _part_text(part: Message, budget: _Budget, problems: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        _note(problems, "A text part could not be decoded; it was skipped.")
        return ""
    _note_defects(part, problems)  # decoding base64 records what was wrong with it only now
    if not isinstance(data, bytes):
        return ""
    if len(data) > budget.left * 4:
        data = data[: budget.left * 4]
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_bytes(data, charset, problems)
    if len(text) > budget.left:
        _note(problems, "The text is longer than 256 KiB; only its beginning was read.")
        text = text[: budget.left]
    budget.left -= len(text)
    return text


def _status_blocks(part: Message, problems: list[str]) -> list[list[tuple[str, str]]]:
    """The fields of a delivery-status report, one list per block (per-message block, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                blocks.append([(name.lower(), _decode_header_value(value, problems)) for name, value in block.items()])
        return blocks
    # The library could not split it (an encoded or malformed report): read the fields from the text.
    raw = part.get_payload(decode=True)
    text = decode_bytes(raw, None, problems) if isinstance(raw, bytes) else str(payload)
    return parse_field_blocks(text[:TEXT_LIMIT])


_FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")


def parse_field_blocks(text: str) -> list[list[tuple[str, str]]]:
    """``Name: value`` blocks separated by blank lines, continuation lines folded in."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, value + " " + line.strip())
            continue
        match = _FIELD_LINE.match(line)
        if match:
            current.append((match.group(1).lower(), match.group(2).strip()))
    if current:
        blocks.append(current)
    return blocks


def _collect_original(part: Message, content: MailContent) -> None:
    """The headers of the message a bounce returns: a parsed message/rfc822 part, or text/rfc822-headers."""
    payload = part.get_payload()
    if isinstance(payload, list):
        content.original_headers.extend(item for item in payload[:1] if isinstance(item, Message))
        return
    try:
        raw = part.get_payload(decode=True)
        text = decode_bytes(raw, None, content.problems) if isinstance(raw, bytes) else str(payload)
        content.original_headers.append(message_from_string(text[:TEXT_LIMIT]))
    except Exception:
        _note(content.problems, "The copy of the original message could not be read.")
