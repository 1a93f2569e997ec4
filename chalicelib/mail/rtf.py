r"""RTF message bodies (Outlook's, inside winmail.dat) as plain text or as the HTML they carry.

Outlook keeps a body as RTF. When the message was written in HTML, the RTF encapsulates that
HTML ([MS-OXRTFEX]: `\fromhtml1` in the header, the markup in `{\*\htmltag ...}` groups, stretches
meant only for RTF readers between `\htmlrtf` and `\htmlrtf0`); `convert` gives the HTML back.
Any other RTF (`\fromtext`, or a document written in RTF) becomes its text: paragraphs and tabs,
`\uN` characters, `\'hh` bytes in the document's code page (`\ansicpgN`, or a font's
`\fcharsetN`), with font and colour tables, pictures, field instructions and the other
destinations left out. Backslashes escaped as `\\` come out as one backslash, nothing else is
unescaped. One linear pass over the bytes with one tokenising regex; `\binN` data is skipped.
"""
from __future__ import annotations

import re

from chalicelib.mail.charsets import codec_for
from chalicelib.mail.text import LazyPattern

MAX_RTF = 4 * 1024 * 1024  # bytes of RTF looked at
MAX_DEPTH = 200  # nested groups with their own state; real documents nest a dozen deep

_TOKEN = LazyPattern(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|\\'([0-9a-fA-F]{2})"               # 3: a byte in the current code page
    rb"|\\([^a-zA-Z'])"                    # 4: control symbol (\\ \{ \} \~ \- \_ \* ...)
    rb"|([{}])"                            # 5: group
    rb"|([^\\{}\r\n]+)"                    # 6: text
    rb"|[\r\n]+", re.S)                    # line breaks in RTF source mean nothing
# Destinations whose content is not message text (those marked `\*` are skipped as well).
_DESTINATIONS = frozenset(
    "fonttbl colortbl stylesheet listtable listoverridetable revtbl rsidtbl generator info "
    "pict object objdata shppict nonshppict header headerl headerr headerf footer footerl "
    "footerr footerf filetbl themedata colorschememapping latentstyles datastore xmlnstbl "
    "fldinst bkmkstart bkmkend pgdsctbl mmathPr template userprops docvar".split())
_WORDS = {"par": "\n", "line": "\n", "sect": "\n\n", "page": "\n\n", "row": "\n", "tab": "\t",
          "cell": "\t", "emdash": "\u2014", "endash": "\u2013", "emspace": "\u2003",
          "enspace": "\u2002", "qmspace": "\u2005", "bullet": "\u2022", "lquote": "\u2018",
          "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d"}
_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "\u2011", "-": "",
            "\n": "\n", "\r": "\n"}
# \fcharsetN: Windows character sets to code pages.
_FCHARSETS = {77: "mac-roman", 128: "cp932", 129: "cp949", 130: "johab", 134: "gbk", 136: "big5",
              161: "cp1253", 162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256",
              186: "cp1257", 204: "cp1251", 222: "cp874", 238: "cp1250"}


class _State:
    """What a group inherits from the group around it (copied when a group opens)."""

    __slots__ = ("skip", "htmltag", "htmlrtf", "codec", "uc", "font")

    def __init__(self) -> None:
        self.skip = False       # inside a destination that is not text
        self.htmltag = False    # inside {\*\htmltag ...}: HTML markup
        self.htmlrtf = False    # between \htmlrtf and \htmlrtf0: for RTF readers only
        self.codec = "cp1252"
        self.uc = 1             # characters that stand in for each \uN
        self.font = b""         # \fN: its \fcharset may say the code page

    def copy(self) -> _State:
        inner = _State.__new__(_State)
        inner.skip, inner.htmltag, inner.htmlrtf = self.skip, self.htmltag, self.htmlrtf
        inner.codec, inner.uc, inner.font = self.codec, self.uc, self.font
        return inner


def convert(rtf: bytes) -> tuple[str, str]:
    """("html", the encapsulated HTML) or ("text", the document's text). Never raises."""
    try:
        data = bytes(rtf[:MAX_RTF])
        html = b"\\fromhtml" in data[:4096]
        return ("html" if html else "text"), _Reader(html).read(data)
    except Exception:  # noqa: BLE001 - a body that cannot be read is no body
        return "text", ""


class _Reader:
    def __init__(self, html: bool):
        self.html = html
        self.out: list[str] = []
        self.pending = bytearray()   # bytes of the current run, decoded together (DBCS pairs)
        self.pending_codec = "cp1252"
        self.fonts: dict[bytes, str] = {}  # \fN -> code page, from the font table
        self.skip_chars = 0          # fallback characters after \uN still to drop

    def read(self, data: bytes) -> str:
        state = _State()
        stack: list[_State] = []
        too_deep = 0  # groups opened past MAX_DEPTH, not yet closed
        star = False
        position, end = 0, len(data)
        match = _TOKEN.match
        while position < end:
            token = match(data, position)
            if token is None:  # a lone backslash at the very end
                break
            position = token.end()
            word, argument, hexbyte, symbol, brace, text = token.groups()
            if brace == b"{":
                if len(stack) < MAX_DEPTH:
                    stack.append(state)
                    state = state.copy()
                else:  # deeper groups share their parent's state: memory stays bounded
                    too_deep += 1
                self.skip_chars = 0
            elif brace == b"}":
                if too_deep:
                    too_deep -= 1
                else:
                    state = stack.pop() if stack else state
                self.skip_chars = 0
            elif symbol is not None:
                if symbol == b"*":
                    star = True
                    continue
                if self._shown(state):
                    self._put(_SYMBOLS.get(symbol.decode("latin-1"), ""))
            elif word is not None:
                self._word(word.decode("ascii"), argument, state, star)
                if word == b"bin" and argument:
                    position += max(int(argument), 0)
                elif word == b"u" and argument and self._shown(state):
                    self._put(chr(int(argument) % 0x10000))
                    self.skip_chars = state.uc
            elif hexbyte is not None:
                if self.skip_chars:
                    self.skip_chars -= 1
                elif self._shown(state):
                    self._bytes(bytes.fromhex(hexbyte.decode("ascii")), state)
            elif text is not None:
                if self.skip_chars:
                    dropped = min(self.skip_chars, len(text))
                    text, self.skip_chars = text[dropped:], self.skip_chars - dropped
                if text and self._shown(state):
                    self._bytes(text, state)
            star = False
        self._flush()
        result = "".join(self.out)
        # \uN gives UTF-16 code units: join surrogate pairs (emoji) into characters
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return result.replace("\x00", "").replace("\r\n", "\n").strip()

    def _word(self, word: str, argument: bytes | None, state: _State, star: bool) -> None:
        if star or word in _DESTINATIONS:
            if self.html and word == "htmltag":
                state.htmltag = True
            else:
                state.skip = True
        elif word == "htmlrtf":
            state.htmlrtf = argument != b"0"
        elif word == "ansicpg" and argument:
            state.codec = codec_for(f"cp{int(argument)}") or state.codec
        elif word == "uc" and argument:
            state.uc = max(int(argument), 0)
        elif word == "f" and argument is not None:
            state.font = argument
        elif word == "fcharset" and argument and int(argument) in _FCHARSETS:
            self.fonts[state.font] = _FCHARSETS[int(argument)]  # in the font table, after \fN
        elif word in _WORDS and self._shown(state):
            self._put(_WORDS[word])

    def _shown(self, state: _State) -> bool:
        if self.html:
            return state.htmltag or not (state.skip or state.htmlrtf)
        return not state.skip

    def _bytes(self, data: bytes, state: _State) -> None:
        codec = self.fonts.get(state.font) or state.codec
        if codec != self.pending_codec:
            self._flush()
            self.pending_codec = codec
        self.pending += data

    def _put(self, text: str) -> None:
        self._flush()
        self.out.append(text)

    def _flush(self) -> None:
        if self.pending:
            self.out.append(bytes(self.pending).decode(self.pending_codec, "replace"))
            self.pending.clear()
