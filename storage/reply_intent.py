"""Does a reply ask us to stop emailing? "opt_out" when it says so unambiguously — that one may be acted on
without a person — "ambiguous" when it might ("not interested", "stop", "wrong person", a request about
someone else, a question about how to unsubscribe), else "none".

Precision comes first: a do-not-contact made automatically must be right, so every doubt makes an opt-out
"ambiguous" (a teammate decides in Slack), never "none". The phrases are in ``storage.reply_phrases``; this
module weighs each one found in its sentence and clause:

- a negation governing it makes it no request ("don't unsubscribe me", "no quiero darme de baja", "ich möchte
  mich nicht abmelden"): the words between the negation and the verb may only be auxiliaries, pronouns and
  verbs of wanting, so "not interested — remove me" is still a request;
- a question that is not a polite request ("how do I unsubscribe?" but not "could you remove me?"), a
  condition ("if …", "before I unsubscribe"), a delay ("don't email me until March"), a redirection ("email me
  at my new address instead") or an undo ("you unsubscribed me by mistake") makes it "ambiguous";
- an unsubscribe verb said of someone else ("unsubscribe my colleague") or in passing is "ambiguous".

Text is folded (lower case, accents and typographic apostrophes removed) by one translation table that keeps
every character's position, so the deciding phrase is quoted exactly as the person wrote it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from storage.reply_phrases import MAYBE, PHRASES, SHORT_MAYBE, SHORT_OUT, STOP, VERB, WHOLE_MAYBE, Phrase
from storage.reply_words import (
    CONDITIONAL,
    CONTACT_NOUNS,
    DEFERRAL,
    DETERMINERS,
    FILLERS,
    FIRST_PERSON,
    FOOTER,
    GERMAN_SELF,
    LINK_NOUNS,
    LINK_TROUBLE,
    MAIL_NOUNS,
    NEGATIONS,
    NEUTRAL_AFTER,
    NOT_MAIL,
    PAST_OPT_OUT,
    POLITE,
    POLITE_CONDITION,
    POLITE_FRAME,
    POSSESSIVES,
    PREPOSITIONS,
    REDIRECT_OR_UNDO,
    REENGAGE,
    REPLY_PREFIX,
    REQUEST_WORDS,
    SHORT_EXTRAS,
    STOPWORDS,
)

__all__ = ["Intent", "classify_reply"]

# The new text read; a reply longer than this has said what it means by then.
TEXT_LIMIT = 4000


@dataclass(frozen=True)
class Intent:
    kind: str  # "opt_out", "ambiguous" or "none"
    phrase: str | None  # the words that decided, exactly as written
    language: str | None  # "en", "es", "fr", "de", "pt", "it" when known


NONE = Intent("none", None, None)


class _FoldTable(dict[int, str]):
    """Lower case without accents, one character for one, filled as new characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in "’‘ʼ´`′":
            folded = "'"
        elif char in "\u00a0\u2007\u202f\u2009":
            folded = " "
        elif char in "‐‑‒–—―":
            folded = "-"
        else:
            lower = char.lower() if len(char.lower()) == 1 else char
            base = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))
            folded = base if len(base) == 1 else lower
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """``text`` in lower case without accents, with every character at the same position."""
    return text.lower() if text.isascii() else text.translate(_FOLD)


_TOKEN = re.compile(r"\w+(?:'\w+)?")
_SENTENCE_BREAK = re.compile(r"[.!?;\n¿¡]+")
_CLAUSE_BREAK = re.compile(
    r"[.!?;:\n¿¡,()\"]+|\s[-–]+\s|\b(?:but|and|so|because|although|however|pero|y|porque|aunque|sino|mais|et|car"
    r"|donc|aber|und|weil|denn|sondern|ma|perche|quindi|pero|e(?!-)|tuttavia|pois)\b"
)
# Words that may stand between a German request and its verb without naming what is unsubscribed.
_GERMAN_FILLERS = frozenset("sofort sofortige umgehend umgehende hiermit gerne gern endlich einfach auch jetzt zu ich "
                            "wir mochte moechte mochten will wollen wurde wuerde bitte doch um eine die das".split())
# Every phrase names substrings it cannot match without; most replies hold none of them.
_PHRASES_BY_KEY: dict[str, tuple[int, ...]] = {}
for _index, _phrase in enumerate(PHRASES):
    for _key in _phrase.keys or ():
        _PHRASES_BY_KEY[_key] = (*_PHRASES_BY_KEY.get(_key, ()), _index)
_KEYLESS = {index for index, phrase in enumerate(PHRASES) if phrase.keys is None}
_ALL_KEYS = tuple(sorted(_PHRASES_BY_KEY))
_CLITIC_OBJECT = re.compile(r"\w{4}(?:me|mi|ci|nos)$")  # "desuscribirme", "disiscrivermi"
_ASKS_US = re.compile(r"\b(?:can|could|would|will)\s+(?:you|u|someone|somebody|y'all)\b")
# How far around a phrase its context is read, and how long a clause may be and still be "just the word": bounds
# that keep a 4,000-character reply repeating one word from costing more than a short one.
_WINDOW = 240
_SHORT_CLAUSE = 120
_MATCHES_PER_PHRASE = 8
_OBJECT_AFTER = re.compile(r"[\s-]{1,2}(?:me|us|moi|mich|uns|nos|myself)\b")
_LANGUAGES = ("en", "es", "fr", "de", "pt", "it")


@dataclass
class _Finding:
    verdict: str  # "opt_out", "ambiguous" or "negated"
    start: int
    end: int
    language: str
    downgraded: bool = False


def classify_reply(new_text: str, subject: str = "") -> Intent:
    """The intent of a reply's own new text (and of its subject, when the person wrote one rather than kept
    "Re: …"): see the module's documentation."""
    text = (new_text or "")[:TEXT_LIMIT]
    if subject and not REPLY_PREFIX.match(subject):
        text = f"{text}\n{subject[:300]}"
    folded = fold(text)
    if not folded.strip():
        return NONE
    reading = _Reading(folded)
    candidates = sorted({index for key in _ALL_KEYS if key in folded for index in _PHRASES_BY_KEY[key]}
                        | _KEYLESS)
    findings = [finding for index in candidates for finding in reading.weigh(PHRASES[index])]
    if not findings:
        return Intent("none", None, _language(folded))
    if reading.asks_for_later():
        # "Not now — ping me in June": the person wants to hear from us, so a refusal beside it is no reason to stop.
        findings = [finding for finding in findings if finding.downgraded or finding.verdict != "ambiguous"]
    opt_outs = [finding for finding in findings if finding.verdict == "opt_out"]
    if opt_outs and (any(finding.verdict == "negated" for finding in findings) or REDIRECT_OR_UNDO.search(folded)
                     or reading.asks_for_later()):
        for finding in opt_outs:  # a request taken back, redirected or contradicted: a person decides
            finding.verdict, finding.downgraded = "ambiguous", True
    for verdict in ("opt_out", "ambiguous"):
        chosen = [finding for finding in findings if finding.verdict == verdict]
        if chosen:
            best = min(chosen, key=lambda finding: (not finding.downgraded, finding.start, finding.start - finding.end))
            phrase = " ".join(text[best.start:best.end].split())
            # A phrase of one language says which language the reply is in; English words ("unsubscribe", "stop")
            # are also written in replies in the other five, so there the reply's small words decide.
            language = (_language(folded) or best.language) if best.language == "en" else best.language
            return Intent(verdict, phrase, language)
    return Intent("none", None, _language(folded))


class _Reading:
    """One folded text, its sentences and clauses, and the rules that weigh a phrase found in it."""

    def __init__(self, folded: str) -> None:
        self.text = folded
        self.sentence_breaks = [(m.start(), m.end()) for m in _SENTENCE_BREAK.finditer(folded)]
        self.clause_breaks = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(folded)]
        self.sentence_starts = [start for start, _ in self.sentence_breaks]
        self.clause_starts = [start for start, _ in self.clause_breaks]
        self._later: bool | None = None

    def asks_for_later(self) -> bool:
        """Whether the person asks to be contacted again later ("reach out in Q3"), not negated."""
        if self._later is None:
            self._later = False
            for match in REENGAGE.finditer(self.text):
                clause_start, _ = self._span(self.clause_breaks, self.clause_starts, match.start())
                if not self._negated(clause_start, match.start(), []):
                    self._later = True
                    break
        return self._later

    def weigh(self, phrase: Phrase) -> list[_Finding]:
        found: list[_Finding] = []
        for match in phrase.pattern.finditer(self.text):
            if len(found) >= _MATCHES_PER_PHRASE:
                break
            start, end = match.span()
            verdict = self._verdict(phrase, start, end)
            if verdict and phrase.kind == VERB:  # quote "unsubscribe me", "désabonnez-moi" whole
                own_object = _OBJECT_AFTER.match(self.text, end)
                end = own_object.end() if own_object else end
            if verdict:
                found.append(_Finding(verdict, start, end, phrase.language,
                                      downgraded=verdict == "ambiguous" and phrase.kind != MAYBE))
        return found

    def _verdict(self, phrase: Phrase, start: int, end: int) -> str | None:
        clause_start, clause_end = self._span(self.clause_breaks, self.clause_starts, start)
        kind = phrase.kind
        if kind in (SHORT_OUT, SHORT_MAYBE):
            allowed = POLITE if kind == SHORT_OUT else POLITE | SHORT_EXTRAS
            if clause_end - clause_start > _SHORT_CLAUSE:
                return None
            rest = _tokens(self.text[clause_start:start]) + _tokens(self.text[end:clause_end])
            if any(token not in allowed for token in rest):
                return None
            return "opt_out" if kind == SHORT_OUT else "ambiguous"
        if kind == WHOLE_MAYBE:
            if len(self.text) > _SHORT_CLAUSE:
                return None
            rest = _tokens(self.text[:start]) + _tokens(self.text[end:])
            return "ambiguous" if all(token in POLITE | SHORT_EXTRAS for token in rest) else None
        own_tokens = _tokens(self.text[start:end])
        intrinsic = kind == STOP or (kind == MAYBE and any(token in NEGATIONS for token in own_tokens))
        if not intrinsic and self._negated(clause_start, start, own_tokens):
            return "negated" if kind != MAYBE else None
        if not intrinsic and self._about_something_else(end, clause_end):
            return None  # "me doy de baja del plan anual", "dar de baja usuarios"
        if kind == MAYBE:
            return "ambiguous"
        verdict = self._verb_verdict(phrase, clause_start, clause_end, start, end) if kind == VERB else "opt_out"
        if verdict == "opt_out" and (self._hedged(start, end) or self._in_the_past(start, end)):
            return "ambiguous"
        return verdict

    def _in_the_past(self, start: int, end: int) -> bool:
        """Whether the request itself is told in the past ("I unsubscribed", "ya me di de baja")."""
        return any(past.start() < end and past.end() > start
                   for past in PAST_OPT_OUT.finditer(self.text, max(0, start - 40), end + 20))

    def _span(self, breaks: list[tuple[int, int]], starts: list[int], position: int) -> tuple[int, int]:
        """The sentence or clause around ``position``: from the end of the break before to the next break."""
        index = bisect.bisect_right(starts, position)
        begin = breaks[index - 1][1] if index > 0 else 0
        finish = breaks[index][0] if index < len(breaks) else len(self.text)
        return begin, finish

    def _about_something_else(self, end: int, clause_end: int) -> bool:
        """Whether the words after a request name a thing that is not mail ("opt out of the annual contract")."""
        after = _tokens(self.text[end:min(clause_end, end + _WINDOW)])[:4]
        if after and after[0] in DETERMINERS and after[0] not in PREPOSITIONS:
            after = after[1:]  # "stop sending the invoices"
        if not after:
            return False
        if after[0] in NOT_MAIL:
            return True
        return after[0] in PREPOSITIONS and not _about_mail(after[1:]) and any(word in NOT_MAIL for word in after[1:])

    def _negated(self, clause_start: int, start: int, own_tokens: list[str]) -> bool:
        if any(token in NEGATIONS for token in own_tokens[1:]):  # "melden Sie mich nicht ab"
            return True
        before = _tokens(self.text[max(clause_start, start - _WINDOW):start])[-8:]
        nearer = ""
        for index in range(len(before) - 1, -1, -1):
            token = before[index]
            if token in NEGATIONS:
                if index > 0 and before[index - 1] in ("why", "porque", "pourquoi", "warum", "perche"):
                    return False  # "why don't you remove me" asks for it
                # "no" negates a verb ("no quiero", "no me den"); "No I want out" is an answer, then a request.
                return token != "no" or nearer not in ("i", "we", "i'd", "i'm", "we'd", "please", "thanks")
            if token not in FILLERS:
                return False
            nearer = token
        return False

    def _verb_verdict(self, phrase: Phrase, clause_start: int, clause_end: int, start: int, end: int) -> str | None:
        """An unsubscribe verb: a request when said of the writer, "ambiguous" when of someone else or in passing,
        nothing when it is only asked about ("how do you handle unsubscribe requests?")."""
        verb = self.text[start:end]
        after = _tokens(self.text[end:min(clause_end, end + _WINDOW)])[:5]
        before = _tokens(self.text[max(clause_start, start - _WINDOW):start])
        first = after[0] if after else ""
        if phrase.language == "de":
            return self._german_verb_verdict(before, after, start)
        sentence_start, sentence_end = self._span(self.sentence_breaks, self.sentence_starts, start)
        sentence = self.text[max(sentence_start, start - _WINDOW):min(sentence_end, end + _WINDOW)]
        if first in LINK_NOUNS or FOOTER.search(sentence):
            # "the unsubscribe link doesn't work" is a complaint; "unsubscribe rates", "click here to unsubscribe"
            # are not
            return "ambiguous" if LINK_TROUBLE.search(sentence) else None
        if first in POSSESSIVES:
            return "opt_out" if len(after) > 1 and after[1] in CONTACT_NOUNS else "ambiguous"
        if first in FIRST_PERSON or _CLITIC_OBJECT.search(verb):
            return "opt_out"
        if first and first not in NEUTRAL_AFTER:
            return "ambiguous"  # "unsubscribe my colleague", "unsubscribe John"
        if first in PREPOSITIONS and not _about_mail(after[1:]):
            return "ambiguous"  # "unsubscribe from Acme": about mail, probably, but not said
        if any(token in FIRST_PERSON or token in REQUEST_WORDS for token in before[-6:]):
            return "opt_out"
        if all(token in POLITE for token in before) or any(token in REQUEST_WORDS for token in after):
            return "opt_out"  # the clause opens with it (an imperative, or the word alone), or "…, please"
        return None if self._is_question(start) else "ambiguous"

    def _german_verb_verdict(self, before: list[str], after: list[str], start: int) -> str | None:
        """German puts the object before the verb: "bitte mich abmelden" and "Bitte um Abmeldung" are requests,
        "einzelne Nutzer abmelden" is about someone else."""
        if any(token in GERMAN_SELF for token in after[:3]):
            return "opt_out"  # "Abmeldung meiner Adresse"
        for token in reversed(before):
            if token in GERMAN_SELF:
                return "opt_out"
            if not (token in POLITE or token in REQUEST_WORDS or token in _GERMAN_FILLERS or token in MAIL_NOUNS
                    or token in DETERMINERS or token in PREPOSITIONS):
                return None if self._is_question(start) or token in NOT_MAIL else "ambiguous"
        return "opt_out"

    def _is_question(self, start: int) -> bool:
        sentence_start, sentence_end = self._span(self.sentence_breaks, self.sentence_starts, start)
        terminator = self.text[sentence_end:sentence_end + 3]
        return "?" in terminator or "¿" in self.text[max(0, sentence_start - 2):sentence_start]

    def _hedged(self, start: int, end: int) -> bool:
        """A question that is not a polite request, a condition, or a delay around the request."""
        sentence_start, sentence_end = self._span(self.sentence_breaks, self.sentence_starts, start)
        sentence_start, sentence_end = max(sentence_start, start - _WINDOW), min(sentence_end, end + _WINDOW)
        sentence = self.text[sentence_start:sentence_end]
        if self._is_question(start):
            tokens = _tokens(sentence)
            asks_us = any(token in REQUEST_WORDS for token in tokens) or _ASKS_US.search(sentence)
            if not asks_us:
                return True
        before = self.text[sentence_start:start]
        for cue in CONDITIONAL.finditer(before):
            if not (POLITE_CONDITION.match(before, cue.start()) or POLITE_FRAME.search(before, 0, cue.start())):
                return True
        return bool(DEFERRAL.search(sentence))


def _about_mail(words: list[str]) -> bool:
    """Whether what follows "from" / "of" names mail or a list (or nothing: the clause ends there)."""
    for word in words:
        if word in MAIL_NOUNS:
            return True
        if word not in DETERMINERS:
            return False
    return True


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if len(token) > 2 and token[1] == "'" and token[0] in "cdjlmnst":  # French elision: "m'envoyer", "n'ai"
            tokens.extend((token[:2], token[2:]))
        else:
            tokens.append(token)
    return tokens


def _language(folded: str) -> str | None:
    """The language most of the frequent small words belong to, when one clearly leads."""
    counts = dict.fromkeys(_LANGUAGES, 0)
    for token in _TOKEN.findall(folded[:1500]):
        for language in STOPWORDS.get(token, ()):
            counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top >= 2 and top > second else None
