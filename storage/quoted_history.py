"""A reply's own words, without the history it quotes: the person's new text is what decides an opt-out, and the
campaign email quoted under it (with its own "unsubscribe" footer) must never speak for them.

Cut at the first mark of history — an attribution line ("On … wrote:", "El … escribió:", "Le … a écrit :",
"Am … schrieb …:", "Em … escreveu:", "Il … ha scritto:"), Outlook's "-----Original Message-----" or its
"From: / Sent:" header block (in the six languages), a forwarded-message banner, a "-- " signature or a
"Sent from my iPhone" line — and drop ">" lines anywhere, so inline answers between quotes are kept. When
nothing new stands above the attribution, the person wrote below the quote (bottom posting), and the search
goes on after it.
"""

from __future__ import annotations

import re

__all__ = ["NEW_TEXT_LIMIT", "quotes_history", "reply_text"]

NEW_TEXT_LIMIT = 4000

_WROTE = r"(?:wrote|writes|escribi[óo]|a\s+[ée]crit|schrieb|escreveu|ha\s+scritto|scrisse)"
# "On Tue, 4 Mar 2025 at 10:02, Ana <ana@x.com> wrote:" — clients wrap long ones onto a second line.
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?P<line>[^\n>][^\n]{0,240}(?:\n[^\n>][^\n]{0,160})?\b" + _WROTE + r"\b[^\n:]{0,160}:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Older Gmail and some others write no verb: "2015-03-03 10:02 GMT+01:00 Tom <tom@x.com>:" over the quote.
_COLON_OVER_QUOTE = re.compile(r"^([^\n>][^\n]{0,300}):[ \t]*\n(?:[ \t]*\n)?[ \t]*>", re.MULTILINE)
_WROTE_ANYWHERE = re.compile(_WROTE, re.IGNORECASE)
_ATTRIBUTION_OPENING = re.compile(r"\s*(?:on|el|le|am|em|il|at|op)\b", re.IGNORECASE)
_ORIGINAL_BANNER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:original message|mensaje original|message d'origine|message original"
    r"|urspr(?:ü|ue|u)ngliche nachricht|mensagem original|messaggio originale|forwarded message"
    r"|mensaje reenviado|message transf[ée]r[ée]|weitergeleitete nachricht|mensagem encaminhada"
    r"|messaggio inoltrato)[ \t]*-{2,}"
    r"|(?:begin forwarded message|inicio del mensaje reenviado|d[ée]but du message r[ée]exp[ée]di[ée]"
    r"|anfang der weitergeleiteten nachricht|in[íi]cio da mensagem encaminhada|inizio messaggio inoltrato)[ \t]*:"
    r"|_{10,}[ \t]*$)",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook's block: a From line, then within a few lines its Sent/Date line ("De : … Envoyé : …" in French).
_HEADER_BLOCK = re.compile(
    r"^[ \t]*\*?(?:from|de|von|da|van|fra|från)[ \t]*:\*?[ \t]*\S[^\n]*\n(?:[^\n]*\n){0,3}?"
    r"[ \t]*\*?(?:sent|date|enviado(?:[ \t]+el)?|enviada|envoy[ée](?:[ \t]+le)?|gesendet|inviato|data|fecha|datum"
    r"|verzonden)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(
    r"^(?:--[ \t]*$|[ \t]*(?:sent from my|sent from (?:outlook|yahoo|mail for)|sent via |get outlook for"
    r"|enviado desde mi|enviado desde (?:outlook|yahoo)|obtener outlook para|envoy[ée] (?:de|depuis) mon"
    r"|obtenir outlook pour|von meinem [^\n]{1,40} gesendet|gesendet von meinem|outlook f(?:ü|u)r [^\n]{1,20} "
    r"herunterladen|enviado do meu|enviado de meu|obter o outlook para|inviato da(?:l mio)? |scarica outlook per)"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
# Legal footers pasted under a signature ("This e-mail is confidential … delete it") are no part of the reply.
_DISCLAIMER = re.compile(
    r"^[ \t]*(?:confidentiality notice|disclaimer\s*:|this (?:e-?mail|message|communication)(?: and any attachments?)?"
    r" (?:is|are|may|contains?)[^\n]{0,40}(?:confidential|privileged|intended)|aviso (?:de confidencialidad|legal)"
    r"|este (?:mensaje|correo)[^\n]{0,60}confidencial|ce (?:message|courriel)[^\n]{0,80}confidenti"
    r"|avis de confidentialit|diese (?:e-?mail|nachricht)[^\n]{0,80}vertraulich|vertraulichkeitshinweis"
    r"|esta (?:mensagem|e-?mail)[^\n]{0,80}confidenc|aviso de confidencialidade|questo messaggio[^\n]{0,80}riservat"
    r"|il presente messaggio|(?:le )?informazioni contenute in questo)",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|$)", re.MULTILINE)
_OTHER_MARKS = {"banner": _ORIGINAL_BANNER, "header block": _HEADER_BLOCK, "signature": _SIGNATURE,
                "disclaimer": _DISCLAIMER}
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def reply_text(text: str, limit: int = NEW_TEXT_LIMIT) -> str:
    """The new text of a reply: quoted history, forwarded parts and signatures removed, at most ``limit``
    characters."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    marks = _Marks(text)
    start = 0
    body = text
    for _ in range(_MAX_QUOTES_ABOVE):
        mark = marks.first(start)
        if mark is None:
            body = text[start:]
            break
        begin, end, attribution = mark
        above = _without_quotes(text[start:begin])
        if above.strip() or not attribution:
            body = text[start:begin]
            break
        start = end  # nothing new above "… wrote:": the person answered below the quote
    else:
        body = text[start:]
    body = _without_quotes(body)
    body = _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", body)).strip()
    return body[:limit]


def quotes_history(text: str) -> bool:
    """Whether the text quotes an earlier message (automatic replies almost never do; people's replies do)."""
    if _QUOTED_LINE.search(text):
        return True
    mark = _Marks(text).first(0)
    return mark is not None and not (_SIGNATURE.match(text, mark[0]) or _DISCLAIMER.match(text, mark[0]))


# A reply below this many quoted messages with nothing new between them is read from there as it is.
_MAX_QUOTES_ABOVE = 20


class _Marks:
    """The marks of history and signatures in one text, found from a position that only moves forward, each
    pattern searched again only once the position has passed its last match: linear in the text's length."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.next: dict[str, tuple[int, int, bool] | None] = {}
        self.searched_from: dict[str, int] = {}
        self.has_wrote = bool(_WROTE_ANYWHERE.search(text))
        self.has_at = "@" in text

    def first(self, start: int) -> tuple[int, int, bool] | None:
        """Where the earliest mark at or after ``start`` begins and ends, and whether it is an attribution."""
        found = [mark for name in ("wrote", "bare", *_OTHER_MARKS) if (mark := self._next(name, start))]
        return min(found) if found else None

    def _next(self, name: str, start: int) -> tuple[int, int, bool] | None:
        cached = self.next.get(name)
        if name in self.next and (cached is None or cached[0] >= start):
            return cached
        mark = self._search(name, start)
        self.next[name] = mark
        return mark

    def _search(self, name: str, start: int) -> tuple[int, int, bool] | None:
        text = self.text
        if name == "wrote":
            for match in _ATTRIBUTION.finditer(text, start) if self.has_wrote else ():
                line = match.group("line")
                # "…wrote:" ending a line is an attribution when it opens like one or names a date or an address.
                if _ATTRIBUTION_OPENING.match(line) or any(char.isdigit() or char == "@" for char in line):
                    return match.start(), match.end(), True
            return None
        if name == "bare":
            for bare in _COLON_OVER_QUOTE.finditer(text, start) if self.has_at else ():
                line = bare.group(1)
                if "@" in line and any(char.isdigit() for char in line):
                    return bare.start(), bare.end() - 1, True  # up to the quote's ">", dropped with the quote
            return None
        other = _OTHER_MARKS[name].search(text, start)
        return (other.start(), other.end(), False) if other else None


def _without_quotes(text: str) -> str:
    return _QUOTED_LINE.sub("", text) if ">" in text else text
