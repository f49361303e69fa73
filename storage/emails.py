"""Email addresses as they come out of spreadsheets, turned into the forms we show and compare.

``normalise_email`` gives the address as shown: trimmed and lower-cased as a whole. Nothing else about it
changes: plus-tags and Gmail dots are part of the identity the sender mails, so ``jane+news@gmail.com`` and
``j.ane@gmail.com`` stay distinct people. Unicode is accepted in both parts (lower-cased, NFC-composed), control
characters never are.

``address_key`` gives the identity: the same mailbox written with a Unicode or a punycode domain
(``josé@exämple.es``, ``josé@xn--exmple-cua.es``) is one person. Its domain is the ASCII form IDNA (UTS 46)
gives; the local part stays as shown, since the receiving server decides what its mailbox names mean. Keys,
fingerprints, domain blocks and lookups use it; what was imported is what a person sees.

Both run once per imported row, so a clean ASCII address takes a single precompiled regex and no IDNA work.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import idna

__all__ = ["InvalidEmail", "address_key", "ascii_domain", "email_domain", "normalise_email"]

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_DOMAIN_LABEL_LENGTH = 63


class InvalidEmail(ValueError):
    """The cell does not hold one usable address; ``reason`` says why in words a salesperson understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The RFC 5322 "atext" characters. Quoted local parts ("john doe"@x.com) and IP-literal domains are refused:
# mail tools and people get them wrong far more often than anyone means them.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"

# Addresses that need no cleaning. Deliberately narrower than what is valid: anything unusual (a leading quote,
# rare symbols, a numeric top-level domain, non-ASCII) goes through the careful path, so both paths agree.
_CLEAN_ADDRESS = re.compile(
    r"(?=[^@]{1,64}@)"
    r"[A-Za-z0-9_%+-][A-Za-z0-9_%+'-]*(?:\.[A-Za-z0-9_%+'-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_LOCAL_ASCII = re.compile("[." + _ATEXT + "]*")
_LABEL_ASCII = re.compile("[A-Za-z0-9-]*")

# Invisible characters copied along with addresses from web pages, PDFs and right-to-left sheets. Nobody can
# see them, so they are never meant to be part of the address.
_INVISIBLE = ("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060"
              "\u2066\u2067\u2068\u2069\ufeff")
# Full-width @ and full stops typed with a CJK input method.
_LOOKALIKES = {"\uff20": "@", "\u3002": ".", "\uff0e": ".", "\uff61": "."}
_CLEANUP = str.maketrans({**dict.fromkeys(_INVISIBLE), **_LOOKALIKES})

_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_QUOTES = "\"'`\u2018\u2019\u201a\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"
_WRAPPING = _WHITESPACE + _QUOTES + ",;"
_TRAILING = _WRAPPING + "."
_MAILTO = "mailto:"

_SEPARATORS = re.compile(r"[\s,;]+")
_ADDRESS_LIKE = re.compile(r"""[^\s<>()"',;]+@[^\s<>()"',;]+""")


def normalise_email(raw: str) -> str:
    """The address in ``raw``, trimmed and lower-cased; raises InvalidEmail when there is not exactly one."""
    if len(raw) <= MAX_ADDRESS_LENGTH and _CLEAN_ADDRESS.fullmatch(raw):
        return raw.lower()
    return _normalise_messy(raw)


def address_key(normalised: str) -> str:
    """The identity of an address returned by ``normalise_email``: its domain in ASCII (IDNA, UTS 46)."""
    if normalised.isascii():
        return normalised
    local, _, domain = normalised.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def ascii_domain(domain: str) -> str:
    """``exämple.es`` -> ``xn--exmple-cua.es``; InvalidEmail for a domain IDNA refuses."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidEmail("the domain has characters that can not be part of an email domain") from None


def email_domain(normalised: str) -> str:
    """The domain of an address returned by ``normalise_email``."""
    local, at, domain = normalised.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not a normalised email address: {normalised!r}")
    return domain


def _normalise_messy(raw: str) -> str:
    text = _unwrap(raw.translate(_CLEANUP))
    if not text:
        raise InvalidEmail("the cell is empty")
    ats = text.count("@")
    if ats > 1:
        pieces_with_at = [piece for piece in _SEPARATORS.split(text) if "@" in piece]
        if len(pieces_with_at) > 1:
            raise InvalidEmail("several addresses in one cell")
        raise InvalidEmail("there are several @ in the address")
    if ats == 0:
        raise InvalidEmail("no @ in the address")
    if any(c.isspace() for c in text):
        raise InvalidEmail("there is a space inside the address")
    if not text.isprintable():
        raise InvalidEmail("the address contains invisible control characters")

    local, _, domain = text.partition("@")
    if text.isascii():
        local, domain = local.lower(), domain.lower()
    else:
        # Domains get the compatibility folding IDNA applies (full-width letters, ligatures); local parts only
        # the canonical composition, since the receiving server decides what its mailbox names mean.
        local, domain = _fold(local, "NFC"), _fold(domain, "NFKC")
    address = f"{local}@{domain}"
    if not local:
        raise InvalidEmail("nothing before the @")
    if not domain:
        raise InvalidEmail("nothing after the @")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise InvalidEmail(f"the address is longer than {MAX_ADDRESS_LENGTH} characters")
    if len(local) > MAX_LOCAL_PART_LENGTH:
        raise InvalidEmail(f"the part before the @ is longer than {MAX_LOCAL_PART_LENGTH} characters")
    _check_local_part(local)
    _check_domain(domain)
    return address


def _fold(part: str, form: Literal["NFC", "NFKC"]) -> str:
    # Lower-casing can decompose (İ -> i + dot above) and compatibility forms can be upper-case, so repeat until
    # nothing changes: the result must be its own normal form.
    for _ in range(4):
        folded = unicodedata.normalize("NFC", unicodedata.normalize(form, part).lower())
        if folded == part:
            break
        part = folded
    return part


def _unwrap(text: str) -> str:
    """Peels what spreadsheets and mail clients put around an address: quotes, mailto:, "Name <...>", a final ;"""
    while True:
        before = text
        text = text.strip(_WRAPPING).rstrip(_TRAILING)
        if text[: len(_MAILTO)].lower() == _MAILTO:
            # A mailto: link may carry ?subject=...; the address ends there.
            text = text[len(_MAILTO) :].partition("?")[0]
        if "<" in text:
            text = _inside_angle_brackets(text)
        if text == before:
            return text


def _inside_angle_brackets(text: str) -> str:
    display_name, _, rest = text.partition("<")
    if "<" in rest:
        raise InvalidEmail("several addresses in one cell" if text.count("@") > 1 else "there is a stray < in the cell")
    address, closed, after = rest.partition(">")
    address = address.strip(_WRAPPING)
    after = after.strip(_TRAILING)
    if not address:
        raise InvalidEmail("there is no address between < and >")
    if after:
        if "@" in after:
            raise InvalidEmail("several addresses in one cell")
        raise InvalidEmail("there is text after the address")
    # Gmail writes "jane@x.com" <jane@x.com>; a different address in the name means two people in one cell.
    if any(other.lower() != address.lower() for other in _ADDRESS_LIKE.findall(display_name)):
        raise InvalidEmail("several addresses in one cell")
    return address


def _check_local_part(local: str) -> None:
    if local.startswith(".") or local.endswith("."):
        raise InvalidEmail("the part before the @ starts or ends with a dot")
    if ".." in local:
        raise InvalidEmail("there are two dots in a row")
    if not (local.isascii() and _LOCAL_ASCII.fullmatch(local)):
        _check_characters(local, allowed_ascii=_LOCAL_ASCII)


def _check_domain(domain: str) -> None:
    if domain.startswith("."):
        raise InvalidEmail("the domain starts with a dot")
    if ".." in domain:
        raise InvalidEmail("there are two dots in a row")
    if "." not in domain:
        raise InvalidEmail("the domain has no dot (expected something like example.com)")
    labels = domain.split(".")
    for label in labels:
        if label.startswith("-") or label.endswith("-"):
            raise InvalidEmail("a part of the domain starts or ends with a hyphen")
        if len(label) > MAX_DOMAIN_LABEL_LENGTH:
            raise InvalidEmail(f"a part of the domain is longer than {MAX_DOMAIN_LABEL_LENGTH} characters")
        if not (label.isascii() and _LABEL_ASCII.fullmatch(label)):
            _check_characters(label, allowed_ascii=_LABEL_ASCII)
    if labels[-1].isdigit():
        raise InvalidEmail("the domain ends with a number instead of a name like .com")


def _check_characters(part: str, *, allowed_ascii: re.Pattern[str]) -> None:
    """Letters, digits and marks of any script are fine (internationalised addresses); other symbols are not."""
    bad: list[str] = []
    for char in part:
        if char.isascii():
            ok = allowed_ascii.fullmatch(char) is not None
        else:
            ok = unicodedata.category(char)[0] in "LMN"
        if not ok and char not in bad:
            bad.append(char)
    if bad:
        shown = " ".join(bad[:3])
        raise InvalidEmail(f"the address contains characters that are not allowed: {shown}")
