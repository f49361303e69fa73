"""Derived keys: accent-free search keys, and keyed fingerprints of addresses."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from storage.emails import address_key

# Every key sorts below this, so [prefix, prefix + KEY_CEILING) is exactly the keys starting with prefix.
KEY_CEILING = "\U0010ffff"
SEARCH_KEY_LENGTH = 255


# Letters that are not a base letter plus accents, so decomposing leaves them whole, but that people type as
# plain letters: "Œuvre" is found by "oeuvre", "Søren" by "soren", "Łukasz" by "lukasz". (ß, ﬁ and ĳ need no
# entry: case folding and NFKD spell them out.)
_SPELLED_OUT = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


@lru_cache(maxsize=65_536)  # names and companies repeat a lot in a large import
def search_key(text: str) -> str:
    """Case-folded, accents removed, runs of white space folded: "  José  Ñúñez" -> "jose nunez",
    "Gauß" -> "gauss", "Œuvre" -> "oeuvre"."""
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPELLED_OUT))
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.split())[:SEARCH_KEY_LENGTH]


def address_fingerprint(secret_key: bytes, normalised_email: str) -> str:
    """HMAC-SHA256 of the address: unlike a plain hash, a dictionary of addresses can not reverse it."""
    inner, outer = _hmac_sha256_after_key(secret_key)
    inner, outer = inner.copy(), outer.copy()
    inner.update(normalised_email.encode("utf-8"))
    outer.update(inner.digest())
    return outer.hexdigest()


# HMAC (RFC 2104) hashes the key, padded to a block, before the message, twice. hmac.digest does it again for
# each address, and looks SHA-256 up in OpenSSL by its name each time: 1.65 us an address, a third of what an
# import does to a row before writing it. Hashed once per key and copied, as the standard library's own pure-Python
# HMAC does: 0.77 us. tests/test_identities.py checks it against hmac.digest.
_BLOCK = hashlib.sha256().block_size
_INNER_PAD, _OUTER_PAD = bytes(x ^ 0x36 for x in range(256)), bytes(x ^ 0x5C for x in range(256))


@lru_cache(maxsize=4)
def _hmac_sha256_after_key(secret_key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    key = hashlib.sha256(secret_key).digest() if len(secret_key) > _BLOCK else secret_key
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_INNER_PAD)), hashlib.sha256(key.translate(_OUTER_PAD))


class AddressIdentity(NamedTuple):
    """Who an address is (storage.emails.address_key), and the fingerprints that name it: the key's, and — where
    the address as shown differs from its key (a Unicode domain) — the one the first release kept instead."""

    key: str
    fingerprint: str
    legacy_fingerprint: str | None

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return (self.fingerprint,) if self.legacy_fingerprint is None else (self.fingerprint, self.legacy_fingerprint)


def address_identity(secret_key: bytes, shown: str) -> AddressIdentity:
    """`shown`: an address returned by storage.emails.normalise_email. Raises InvalidEmail for a domain IDNA
    refuses."""
    key = address_key(shown)
    legacy = address_fingerprint(secret_key, shown) if key != shown else None
    return AddressIdentity(key, address_fingerprint(secret_key, key), legacy)


def secret_key_check(secret_key: bytes) -> str:
    """A value stored in the database to notice, at start-up, a key that is not the one it was created with."""
    return hmac.new(secret_key, b"prospectbot secret key check", hashlib.sha256).hexdigest()
