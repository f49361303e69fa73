"""What every language's phrase table is made of: the kinds of phrase, where a request ends, and the substrings
("keys") that let a reply skip every phrase it cannot match."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["END", "MAYBE", "OUT", "SHORT_MAYBE", "SHORT_OUT", "SPAM", "STOP", "VERB", "WHOLE_MAYBE", "Phrase",
           "phrases"]

OUT, STOP, VERB, MAYBE, SHORT_OUT, SHORT_MAYBE, WHOLE_MAYBE = (
    "out", "stop", "verb", "maybe", "short_out", "short_maybe", "whole_maybe")


@dataclass(frozen=True)
class Phrase:
    language: str
    kind: str
    pattern: re.Pattern[str]
    keys: tuple[str, ...] | None  # a match always contains one of these; None: try the phrase on every reply


def phrases(language: str, rows: list[tuple[str, str]]) -> list[Phrase]:
    return [Phrase(language, kind, re.compile(source), required_substrings(source)) for kind, source in rows]


def required_substrings(source: str) -> tuple[str, ...] | None:
    """Substrings of which every match of ``source`` contains at least one, read from the parsed regex: a run of
    literal characters, or one from each branch of an alternation. Written by hand they drift from the pattern
    and hide its matches; read from it they cannot. None when the regex gives no such substring (or the parser,
    which is private to ``re``, is not there): the phrase is then simply always tried."""
    try:
        parser = importlib.import_module("re._parser")
        found = _needed(parser.parse(source), parser)
    except Exception:
        return None
    return tuple(sorted(found)) if found else None


def _needed(items: Any, parser: Any) -> set[str] | None:
    candidates: list[set[str] | None] = []
    run: list[str] = []
    for op, argument in [*items, (None, None)]:
        if op is parser.LITERAL:
            run.append(chr(argument))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        if op is parser.SUBPATTERN:
            candidates.append(_needed(argument[-1], parser))
        elif op is parser.BRANCH:
            branches = [_needed(branch, parser) for branch in argument[1]]
            known = [branch for branch in branches if branch is not None]
            candidates.append(set().union(*known) if len(known) == len(branches) else None)
        elif op in (parser.MAX_REPEAT, parser.MIN_REPEAT) and argument[0] >= 1:
            candidates.append(_needed(argument[2], parser))
    usable = [candidate for candidate in candidates if candidate and min(map(len, candidate)) >= 2]
    # Few substrings of three letters or more: as selective as longer ones, and half as many to look for.
    return max(usable, key=lambda candidate: (min(map(len, candidate)) >= 3, -len(candidate),
                                              min(map(len, candidate)))) if usable else None


# "This is spam", not "your emails land in my spam folder".
SPAM = (r"(?<!\bto\s)(?<!\bin\s)(?<!\bmy\s)(?<!\binto\s)(?<!\bthe\s)(?<!\bde\s)(?<!\ben\s)(?<!\bal\s)(?<!\bim\s)"
        r"(?<!\bno\s)(?<!\bna\s)(?<!\bles\s)(?<!\bdans\s)(?<!\bnello\s)(?<!\bnella\s)\bspams?\b"
        r"(?![\s-]*(?:folder|filter|box|score|ordner|filter|carpeta|dossier|cartella|pasta|caixa))")

# Where a request ends: punctuation, the end, or a word that only closes it (a thank-you, "please", "now").
END = (r"(?=\s*(?:$|[.!?,;:)\n]|-)|\s+(?:please|pls|plz|thanks?|thank\s+you|thx|asap|immediately|now|right\s+away"
       r"|at\s+once|permanently|completely|entirely|for\s+good|forever|too|as\s+well|and|y|et|und|e(?!-)|already"
       r"|again|once\s+and|por\s+favor|gracias|ya|merci|svp|s'il|bitte|danke|sofort|obrigad[oa]|por\s+gentileza"
       r"|grazie|per\s+favore|subito|pure|inmediatamente|immediatement|imediatamente|immediatamente|de\s+inmediato"
       r")\b)")
