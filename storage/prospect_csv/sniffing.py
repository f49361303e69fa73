"""What kind of file this is, and its encoding.

``refuse_other_formats`` refuses workbooks, archives, documents and images by their signature, with a sentence
saying what to do instead; ``choose_encoding`` picks the codec from a byte-order mark or the bytes themselves.
Importing this module registers the ``FALLBACK_ERRORS`` codec error handler, which reads stray bytes as cp1252.
"""

from __future__ import annotations

import codecs
import re

from storage.prospect_csv.common import UnreadableFile

# --- What kind of file is this ------------------------------------------------------------------------------

_SAVE_AS_CSV = "save it as CSV (File → Save As → CSV UTF-8) and import that."
_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", f"This is an old-format Excel workbook (.xls), not a CSV: {_SAVE_AS_CSV}"),
    (b"%PDF-", "This is a PDF document, not a CSV: export the list as CSV from the tool it came from and import that."),
    (b"\x1f\x8b", "This file is compressed with gzip, not a CSV: decompress it and import the CSV inside."),
    (b"Rar!\x1a\x07", "This is a RAR archive, not a CSV: extract the CSV file from it and import that."),
    (b"7z\xbc\xaf\x27\x1c", "This is a 7-Zip archive, not a CSV: extract the CSV file from it and import that."),
    (b"\x89PNG\r\n\x1a\n", "This is a PNG image, not a CSV: export the list as a CSV file and import that."),
    (b"\xff\xd8\xff", "This is a JPEG image, not a CSV: export the list as a CSV file and import that."),
    (b"GIF8", "This is a GIF image, not a CSV: export the list as a CSV file and import that."),
    (b"{\\rtf", "This is a rich-text (RTF) document, not a CSV: export the list as a CSV file and import that."),
)
_EXCEL_WORKBOOK = f"This is an Excel workbook, not a CSV: {_SAVE_AS_CSV}"
_BINARY = "This file holds binary data, not text, so it is not a CSV: export the list as a CSV file and import that."
_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def refuse_other_formats(head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        _refuse_zip(head)
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise UnreadableFile(message)
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise UnreadableFile("This is a web page (HTML), not a CSV: download the list as a CSV file and import that.")
    if start.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            raise UnreadableFile(f"This is an Excel XML spreadsheet, not a CSV: {_SAVE_AS_CSV}")
        raise UnreadableFile("This is an XML file, not a CSV: export the list as a CSV file and import that.")


def _refuse_zip(head: bytes) -> None:
    # A local file header: the first member's name length is at offset 26, the name itself at 30.
    name_length = int.from_bytes(head[26:28], "little")
    first_member = head[30 : 30 + name_length].lower()
    if first_member == b"mimetype" and b"opendocument.spreadsheet" in head[: 30 + name_length + 100]:
        raise UnreadableFile("This is an OpenDocument spreadsheet, not a CSV: save it as CSV (File → Save As → "
                             "Text CSV) and import that.")
    if first_member.endswith((b".csv", b".txt", b".tsv")):
        raise UnreadableFile("This is a ZIP archive, not a CSV: extract the CSV file from it and import that.")
    raise UnreadableFile(_EXCEL_WORKBOOK)


def choose_encoding(head: bytes) -> tuple[str, int]:
    """(codec, length of the byte-order mark to skip) for a file starting with ``head``."""
    for bom, codec in _UTF_BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    utf16 = _bomless_utf16(head)
    if utf16:
        return utf16, 0
    if head.count(0) * 20 > len(head) or _control_bytes(head) * 10 > len(head):
        raise UnreadableFile(_BINARY)
    return _utf8_or_cp1252(head), 0


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM shows as a NUL in every other byte, always on the same side."""
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even, odd = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    if odd * 10 >= pairs * 3 and even * 50 < pairs:
        return "utf-16-le"
    if even * 10 >= pairs * 3 and odd * 50 < pairs:
        return "utf-16-be"
    return None


_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def _control_bytes(head: bytes) -> int:
    return len(_CONTROL_BYTES.findall(head))


def _utf8_or_cp1252(head: bytes) -> str:
    """UTF-8 unless the start of the file reads better as the Windows code page Excel uses for "CSV"."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
    invalid = text.count("\ufffd")
    valid_multibyte = len(text) - len(text.encode("ascii", "ignore")) - invalid
    # A couple of stray bytes in a UTF-8 export are left to the fallback below; cp1252 is chosen for speed when the
    # start of the file is plainly not UTF-8 (each fallback costs a Python call).
    return "cp1252" if invalid >= 3 and invalid > valid_multibyte else "utf-8"


# Bytes that are not valid in the file's encoding are read as Windows-1252 (latin-1 for its five holes): a UTF-8
# export with a few pasted cp1252 names then reads right, and nothing stops an import mid-file.
_CP1252_OR_LATIN1 = tuple(
    bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)
)
FALLBACK_ERRORS = "prospectbot.cp1252-fallback"


def _decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join([_CP1252_OR_LATIN1[b] for b in bad]), error.end


codecs.register_error(FALLBACK_ERRORS, _decode_as_cp1252)
