"""Derived keys: accent-free search keys, and keyed fingerprints of addresses."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

# Every key sorts below this, so [prefix, prefix + KEY_CEILING) is exactly the keys starting with prefix.
KEY_CEILING = "\U0010ffff"
SEARCH_KEY_LENGTH = 255


@lru_cache(maxsize=65_536)  # names and companies repeat a lot in a large import
def search_key(text: str) -> str:
    """Lower-case, accents removed, runs of white space folded: "  José  Ñúñez" -> "jose nunez"."""
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(folded.split())[:SEARCH_KEY_LENGTH]


def address_fingerprint(secret_key: bytes, normalised_email: str) -> str:
    """HMAC-SHA256 of the address: unlike a plain hash, a dictionary of addresses can not reverse it."""
    return hmac.digest(secret_key, normalised_email.encode("utf-8"), "sha256").hex()


def secret_key_check(secret_key: bytes) -> str:
    """A value stored in the database to notice, at start-up, a key that is not the one it was created with."""
    return hmac.new(secret_key, b"prospectbot secret key check", hashlib.sha256).hexdigest()
