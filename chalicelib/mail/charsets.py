"""Bytes in a charset that may be missing, unknown or wrong -> text, without raising.

Guarantees: `decode_bytes` always returns a str (never raises, never loses a byte silently:
undecodable bytes are noted, and the windows-1252 fallback keeps every byte as a character);
`codec_for` maps a MIME charset label to a Python codec, or None when the label is no help
(unknown, or a codec that would rewrite text rather than decode it); labels mail clients get
wrong (`utf8`, `x-unknown`, `ks_c_5601-1987`, gb2312 that is really GBK, iso-8859-1 that is
really windows-1252, UTF-8 labelled as anything) are mapped first. `charset-normalizer` (MIT,
the detector `requests` uses) is imported only when detection is needed: most mail never does.
Imports nothing from chalicelib.
"""
from __future__ import annotations

import codecs
import unicodedata

# Labels Python does not know, or reads differently from what mailers mean by them.
_CHARSET_ALIASES = {
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8", "unicode": "utf-8",
    # WHATWG: these labels mean windows-1252 (its C1 range holds the smart quotes Outlook sends);
    # plain ASCII labels on 8-bit text are the same Outlook habit.
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "cp819": "cp1252", "ibm819": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "ansi_x3.4-1968": "cp1252", "x-ascii": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ks_c_5601_1987": "cp949",
    "x-windows-949": "cp949", "korean": "cp949", "x-gbk": "gbk", "cn-gb": "gb2312",
    "x-x-big5": "big5", "cn-big5": "big5", "x-sjis": "shift_jis", "windows-31j": "cp932",
    "iso-8859-8-i": "iso8859-8", "iso-8859-6-i": "iso8859-6", "windows-874": "cp874",
    "x-mac-roman": "mac-roman", "x-mac-cyrillic": "mac-cyrillic", "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish", "x-mac-ce": "mac-latin2", "x-mac-icelandic": "mac-iceland",
}
# When the declared charset fails, its superset usually reads it (gb2312 that is really GBK).
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "big5": "big5hkscs",
              "shift_jis": "cp932", "euc_jp": "euc_jis_2004", "iso2022_jp": "iso2022_jp_ext",
              "iso8859-11": "cp874", "iso8859-9": "cp1254"}
# Labels that say nothing: detect instead.
_CHARSET_UNKNOWN = {"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "8bit",
                    "binary", "charset", "none"}
# Text codecs that would rewrite the text rather than decode it.
_CHARSET_REFUSED = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined",
                    "mbcs", "oem", "string-escape"}
_WIDE = ("utf-16", "utf-32")
# Among detector guesses that fit equally well, the charsets mail is really written in win.
_PREFERRED = ["utf-8", "cp1252", "cp1251", "cp1250", "gb18030", "cp932", "cp949", "big5",
              "cp1256", "cp1253", "cp1255", "cp1254", "cp1257", "cp1258", "koi8-r", "koi8-u",
              "euc_jp", "iso2022_jp", "cp874", "shift_jis", "gb2312", "euc_kr", "mac-roman"]
_MIN_DETECT = 8  # non-ASCII bytes below which a guess is noise: windows-1252 is assumed


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("setu-latin1", _latin1_fallback)


def codec_for(label: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when the label is no help."""
    if not label or not isinstance(label, str):
        return None
    name = label.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix
    if not name or name in _CHARSET_UNKNOWN:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _CHARSET_REFUSED:
        return None
    if info.name in ("iso8859-1", "latin-1", "ascii"):
        return "cp1252"
    return info.name


def valid_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_charset(data: bytes) -> str | None:
    """charset-normalizer's best guess for `data` (a sample of it), or None."""
    sample = data[:32 * 1024]
    if sum(1 for b in sample[:4096] if b > 127) < _MIN_DETECT:
        return None
    try:
        from charset_normalizer import from_bytes  # deferred: cold start, rarely needed

        matches = list(from_bytes(sample))
    except Exception:  # noqa: BLE001 - detection is a hint, never a failure
        return None
    candidates = []
    for match in matches:
        codec = codec_for(match.encoding)
        if codec is None or (codec.startswith(_WIDE + ("utf-7",)) and not match.bom):
            continue
        candidates.append((match.chaos, codec))
    if not candidates:
        return None
    best = candidates[0][0]
    tied = [codec for chaos, codec in candidates if chaos <= best + 0.01]
    return min(tied, key=lambda c: _PREFERRED.index(c) if c in _PREFERRED else len(_PREFERRED))


def decode_bytes(data: bytes, label: str | None = None,
                 notes: list[str] | None = None, what: str = "text") -> str:
    """Text from bytes whose declared charset may be missing, unknown or wrong."""
    if not data:
        return ""
    codec = codec_for(label)
    note = notes.append if notes is not None else (lambda _message: None)
    if label and codec is None and label.strip().strip("\"'").lower() not in _CHARSET_UNKNOWN:
        note(f"{what}: unknown charset {label.strip()[:40]!r}, detected instead")
    ascii_only = data.isascii()
    if codec is None:
        if ascii_only:
            return data.decode("ascii")
        if valid_utf8(data):
            return data.decode("utf-8")
        return decode_with(data, detect_charset(data) or "cp1252")
    if not ascii_only and not codec.startswith(_WIDE) and codec not in ("utf-8", "utf-8-sig") \
            and valid_utf8(data):
        # Valid multi-byte UTF-8 is almost never an accident in another charset.
        note(f"{what}: declared {label!s:.40} but the bytes are UTF-8")
        return data.decode("utf-8")
    for attempt in (codec, _SUPERSETS.get(codec)):
        if attempt:
            try:
                return data.decode(attempt)
            except Exception:  # noqa: BLE001 - UnicodeDecodeError, broken stateful codecs
                pass
    if ascii_only:
        return data.decode("ascii")
    guess = detect_charset(data)
    if guess and guess != codec:
        note(f"{what}: not valid {label!s:.40}, decoded as {guess}")
        return decode_with(data, guess)
    note(f"{what}: not valid {label!s:.40}, undecodable bytes replaced")
    return decode_with(data, _SUPERSETS.get(codec, codec))


def decode_with(data: bytes, codec: str) -> str:
    """`data` in `codec`, bad bytes replaced (windows-1252: kept as their Latin-1 character)."""
    errors = "setu-latin1" if codec == "cp1252" else "replace"
    try:
        return data.decode(codec, errors)
    except Exception:  # noqa: BLE001
        return data.decode("utf-8", "replace")



def strict_ok(data: bytes, codec: str) -> bool:
    """Whether `data` decodes in `codec` without a single error."""
    try:
        data.decode(codec)
    except Exception:  # noqa: BLE001 - UnicodeDecodeError, broken stateful codecs
        return False
    return True


# ---- raw 8-bit header bytes ----------------------------------------------------------------
#
# A header sent without RFC 2047 says nothing about its charset, and it is short: a subject and
# a display name give a detector a dozen bytes, too few for statistics (charset-normalizer reads
# a GBK "退款" as Big5, a KOI8-R "Заказ" as cp932). So every candidate that decodes the bytes
# without error is read and scored for how implausible the text is (`implausibility`), and the
# least implausible wins; among equals the earlier candidate: the message's declared charsets
# first, then the charsets headers are really sent in, then the detector's guesses.

_HEADER_SAMPLE = 4096  # bytes of raw header text scored
_HEADER_CANDIDATES = ("cp1252", "gb18030", "big5", "cp932", "cp949", "cp1251", "koi8-r",
                      "cp1250", "big5hkscs", "euc_jp", "koi8-u", "cp1253", "cp1257")
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "GEORGIAN", "HEBREW",
                        "ARABIC", "THAI"})
_IDEOGRAPHIC = frozenset({"CJK", "HIRAGANA", "KATAKANA"})
_CJK_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL"})  # their own punctuation
_INTRA_WORD = "\u2019\u2018\u2010\u2011\u2013\u2014\u00b7"  # l’été, don’t, l·l, a–b
# Lead bytes of the frequently used ideographs: GB2312 level 1, Big5's common set, JIS level 1.
_COMMON_HAN = (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6), ("shift_jis", 0x88, 0x98))


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN" if ch.isalpha() else ""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _rare(ch: str, script: str) -> bool:
    """An ideograph outside the common sets, a Hangul syllable outside KS X 1001, a half-width
    katakana: what a wrong multi-byte reading produces, and real text seldom holds."""
    if script == "HALFWIDTH":
        return True
    if script == "HANGUL":
        return not strict_encodes(ch, "euc_kr")
    if script == "CJK" and ch.isalpha():
        for codec, low, high in _COMMON_HAN:
            try:
                lead = ch.encode(codec)[0]
            except UnicodeEncodeError:
                continue
            if low <= lead <= high:
                return False
        return True
    return False


def strict_encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def implausibility(text: str) -> int:
    """How unlike real text `text` is: 0 for text a person would write, more for each sign of a
    wrong decoding (controls, private-use or unassigned characters, rare ideographs, letters
    of two alphabets or Hangul beside Han in one word, symbols inside a word, a run of three
    accented letters, a capital after a small letter)."""
    cost = 0
    for word in text.split():
        scripts: list[str] = []
        latin_run = 0
        previous = ""
        for i, ch in enumerate(word):
            if ch.isascii():
                latin_run = 0
                if ch.isalpha():
                    scripts.append("LATIN")
                elif not ch.isdigit():
                    scripts.append("")  # ASCII punctuation separates
                previous = ch
                continue
            category = unicodedata.category(ch)
            script = _script(ch)
            if category in ("Cc", "Co", "Cn", "Cs"):
                cost += 10
            elif category == "Cf" or _rare(ch, script):
                cost += 2
            elif 0x2500 <= ord(ch) <= 0x259F:
                cost += 3  # box drawing and block elements: KOI8's upper half misread
            elif category[0] in "SPN" and ch not in _INTRA_WORD:
                if 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha() \
                        and not {_script(word[i - 1]), _script(word[i + 1])} & _CJK_SCRIPTS:
                    cost += 2  # "Í¿î": a symbol between letters
                elif category[0] != "P" and any(
                        not c.isascii() for c in word[max(i - 1, 0):i] + word[i + 1:i + 2]):
                    cost += 1  # "·¢Æ±": a symbol beside other non-ASCII characters
            if category.startswith("L"):
                scripts.append("IDEO" if script in _IDEOGRAPHIC else script)
                latin_run = latin_run + 1 if script == "LATIN" else 0
                if latin_run >= 3:
                    cost += 1
                if previous and previous.islower() and ch.isupper():
                    cost += 1  # "ъБЛБЪ", "úÁËÁÚ"
                elif previous.isupper() and ch.islower() and i >= 2 and word[i - 2].isupper() \
                        and not (word[i - 2].isascii() and previous.isascii()):
                    cost += 1  # "НЛїо"
            else:
                scripts.append("")
                latin_run = 0
            previous = ch
        for a, b in zip(scripts, scripts[1:]):
            if a and b and a != b and ({a, b} <= _ALPHABETS or {a, b} == {"IDEO", "HANGUL"}
                                       or ("IDEO" in (a, b) and {a, b} - {"IDEO", "LATIN"})):
                cost += 2
    return cost


def _detected(data: bytes) -> list[str]:
    try:
        from charset_normalizer import from_bytes  # deferred: cold start, rarely needed

        return [c for c in (codec_for(m.encoding) for m in from_bytes(data)) if c]
    except Exception:  # noqa: BLE001 - detection is a hint, never a failure
        return []


_frequent: frozenset[str] | None = None


def support(text: str) -> float:
    """The share of the non-ASCII letters in `text` that are among the most frequent letters of
    some language (charset-normalizer's frequency tables): what breaks a tie between readings
    that are equally plausible, such as a Russian word and four common ideographs."""
    global _frequent
    if _frequent is None:
        try:
            from charset_normalizer.constant import FREQUENCIES  # deferred: cold start, rare

            _frequent = frozenset(ch.lower() for chars in FREQUENCIES.values() for ch in chars)
        except Exception:  # noqa: BLE001
            _frequent = frozenset()
    letters = [ch.lower() for ch in text if not ch.isascii() and ch.isalpha()]
    return sum(ch in _frequent for ch in letters) / len(letters) if letters else 0.0


def header_charset(data: bytes, hints: list[str] | tuple[str, ...] = ()) -> str:
    """The charset to read raw 8-bit header bytes in: UTF-8 when they are valid UTF-8; else the
    first of the message's declared charsets (`hints`, in order) that reads them with no sign of
    a wrong decoding; else the least implausible strict reading among the hints, the usual
    header charsets and (when none is clean) the detector's guesses, ties broken by `support`
    and then by that order; else windows-1252, which keeps every byte (lossless: `decode_with`
    maps its five holes to their Latin-1 characters)."""
    if valid_utf8(data):
        return "utf-8"
    final = len(data) <= _HEADER_SAMPLE
    data = data[:_HEADER_SAMPLE]  # scoring is per character in Python: a sample is enough
    declared: list[str] = []
    for label in hints:
        codec = codec_for(label)
        if codec and not codec.startswith(_WIDE) and codec != "utf-8":
            declared += [codec, _SUPERSETS.get(codec, "")]
    best, best_key = "cp1252", None
    tried: set[str] = set()
    for stage, order in enumerate((declared, _HEADER_CANDIDATES, None)):
        if order is None:
            if best_key is not None and best_key[0] == 0:
                break
            order = [c for c in _detected(data) if not c.startswith(_WIDE + ("utf-7",))]
        for codec in order:
            if not codec or codec in tried or codec == "utf-8":
                continue
            tried.add(codec)
            try:  # a sample may end inside a character: the incremental decoder keeps it back
                text = codecs.getincrementaldecoder(codec)().decode(data, final)
            except Exception:  # noqa: BLE001 - UnicodeDecodeError, broken stateful codecs
                continue
            cost = implausibility(text)
            if stage == 0 and cost == 0:
                return codec  # the message says so, and it reads as text
            key = (cost, -support(text))
            if best_key is None or key < best_key:
                best, best_key = codec, key
    return best
