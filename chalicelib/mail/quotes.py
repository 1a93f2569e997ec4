"""Where the quoted history of a reply starts: quote headers in every language, wrapped or not.

Mail clients put a header above the message they quote, in the user's language:

* a "wrote" line: Gmail's "On <date>, <name> <address> wrote:" and its translations ("Am ...
  schrieb ...:", "Le ... a écrit :", "ma 11.3.2024 klo 16.02 ... kirjoitti:", "... 写道：",
  "... লিখেছেন:"), or the same without a verb (Russian and Japanese Gmail: "<date>, <name>
  <address>:"); clients wrap it after 76 characters, so it may take two or three lines, and the
  break may fall inside the address ("<\\nname@example.com>:");
* an Outlook header block: "From:" (Von, De, Da, Van, Od, Fra, Från, Lähettäjä, От, 差出人,
  发件人, 보낸 사람, প্রেরক, ...) followed by Sent/Date/To/Subject/Cc lines in the same language,
  each value possibly wrapped onto a continuation line; often under a line of underscores;
* a separator: "-----Original Message-----" and its translations ("-------- Исходное сообщение
  --------", "-----Oprindelig meddelelse-----", ...), Android's "---- <name> wrote ----".

`headers(lines)` finds them with no backtracking-prone pattern: each line is matched at most a
few times against anchored expressions, and a wrapped header is tried as a window of at most
three lines, so the cost is linear in the text. A header is recognised by its shape (a date or
time, an address, the closing colon, a known verb or field name), not by a fixed wording, which
is what makes new languages and clients work; the word lists cover every language
mail-parser-reply knows (cs, da, de, en, es, fr, it, ja, ko, nl, pl, sv, zh) plus Bengali,
Finnish, Norwegian, Portuguese and Russian. Guarantees: never raises on any list of str;
returns (first line, last line) pairs in order, not overlapping.
"""
from __future__ import annotations

import re

from chalicelib.mail.text import LazyPattern

MAX_WINDOW = 3       # lines a wrapped "wrote" header may take
MAX_HEADER = 400     # characters of a "wrote" header, all lines together
_FIELD_LOOKAHEAD = 6  # lines after "From:" in which the other fields must appear

_QUOTE = r"[ \t]*(?:>[ \t]?)*[ \t]*\**"
_COLON = r"[ \t]*[:：]"
_VERBS = (
    r"wrote|writes|schrieb|a\s+écrit|escribió|escribio|ha\s+scritto|schreef|"
    r"napisał\(a\)|napisała|napisał|skrev|kirjoitti|написал\(а\)|написала|написал|пишет|"
    r"escreveu|napsal\(a\)|napsala|napsal|写道|寫道|님이\s*작성(?:하였습니다|했습니다)?|"
    r"のメール|লিখেছেন|yazdı|έγραψε|đã\s+viết|a\s+scris"
)
_VERB_END = LazyPattern(rf"(?:^|[\s,>)\d])(?:{_VERBS})[ \t]*[:：]?[ \t]*$", re.I)
_TIME = LazyPattern(r"\d{1,2}[:.]\d{2}")
_DATE = LazyPattern(r"\d{1,4}[./-]\d{1,2}|\d{1,2}\.? \w{3}|\d{4}|\d+年|\d+년")
_ADDRESS = LazyPattern(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_BRACKETED = LazyPattern(r"[<(]\s*[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\s*[>)]")
_FULL_DATE = LazyPattern(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|(?<!\d)(?:19|20)\d{2}(?!\d)"
                         r"|\d+\s*[年년]")
_ENDS_COLON = LazyPattern(r"[:：][ \t]*$")
# How the first line of a "wrote" header starts: a word clients put first, or a weekday
# abbreviation or date.
_OPENER = LazyPattern(
    r"^(?:On|Am|Le|El|Il|Op|Den|På|Em|Dne|Dnia|W\s+dniu|Il\s+giorno|Em|"
    r"\d|[^\W\d_]{2,4}\.?,?\s+\d)", re.I)
_FROM_WORDS = (
    r"from|von|de|da|van|od|från|fra|frá|lähettäjä|от|差出人|发件人|寄件者|寄件人|보낸\s?사람|"
    r"প্রেরক|afzender|avsändare|absender|remitente|mittente|expéditeur|gönderen|από|feladó|"
    r"odesílatel|remetente"
)
_FIELD_WORDS = (
    r"sent|date|to|subject|cc|bcc|reply-to|gesendet|datum|an|betreff|kopie|envoyé(?:\s+le)?|à|"
    r"objet|copie|enviado(?:\s+el)?|enviada|fecha|para|asunto|inviato|data|a|oggetto|"
    r"verzonden|aan|onderwerp|wysłano|wysłane|do|temat|dw|skickat|till|ämne|kopia|sendt|til|"
    r"emne|dato|kopi|lähetetty|päivämäärä|vastaanottaja|aihe|kopio|отправлено|дата|кому|тема|"
    r"копия|assunto|odesláno|komu|předmět|送信日時|宛先|件名|日付|发送时间|收件人|主题|日期|抄送|"
    r"寄件日期|收件者|主旨|副本|보낸\s?날짜|받는\s?사람|제목|참조|পাঠানো\s+হ(?:য়|য়)েছে|প্রাপক|বিষ(?:য়|য়)|"
    r"তারিখ|সিসি|প্রতি|অনুলিপি|organization|organisation"
)
_FROM_LINE = LazyPattern(rf"^{_QUOTE}(?:{_FROM_WORDS}){_COLON}", re.I)
_FIELD_LINE = LazyPattern(rf"^{_QUOTE}(?:{_FIELD_WORDS}){_COLON}", re.I)
_RULE = LazyPattern(r"^[ \t>]*(?:_{10,}|-{10,}|={10,})[ \t]*$")  # Outlook's line above "From:"
_ORIGINAL = LazyPattern(
    r"^[ \t>]*-{2,}[ \t]*(?:original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|"
    r"oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|originalmeddelande|"
    r"alkuperäinen viesti|wiadomość oryginalna|oryginalna wiadomość|исходное сообщение|"
    r"mensagem original|původní zpráva|原始邮件|原始郵件|元のメッセージ|원본 메시지|মূল বার্তা|"
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado)"
    r"[ \t]*-{2,}[ \t]*$", re.I)
_ANDROID = LazyPattern(rf"^[ \t>]*-{{2,}}[ \t]*[^\n]{{1,80}}?[ \t](?:{_VERBS})[ \t]*-{{2,}}[ \t]*$",
                       re.I)
_NAME_LETTERS = LazyPattern(r"[^\W\d_]")
_VERB_ANY = LazyPattern(rf"(?:{_VERBS})", re.I)


def _unquoted(line: str) -> str:
    return line.lstrip(" \t>").strip()


def _has_name(window: str) -> bool:
    """Letters beyond the verb, the address and the date: whose message it was."""
    rest = _ADDRESS.sub(" ", window)
    rest = _VERB_ANY.sub(" ", rest)
    return len(_NAME_LETTERS.findall(rest)) >= 2


def _wrote_header(window: str, single: bool, next_quoted: bool) -> bool:
    """Whether `window` (one to three lines joined by spaces) is a "wrote" header."""
    if len(window) > MAX_HEADER or not _ENDS_COLON.search(window):
        return False
    has_time = bool(_TIME.search(window))
    if _VERB_END.search(window):
        if not (has_time or "@" in window or _DATE.search(window)):
            # "Setu Support wrote:", "সেতু সাপোর্ট লিখেছেন:" right above quoted lines
            if not (single and len(window) <= 80 and next_quoted):
                return False
        return _has_name(window)
    # no verb (Russian, Japanese Gmail): a full date, a time, an address in <> or (), the colon
    return has_time and "@" in window and bool(_BRACKETED.search(window)) \
        and bool(_FULL_DATE.search(window)) and _has_name(window)


def _wrote_start(lines: list[str], end: int) -> int | None:
    """The first line of a "wrote" header that ends on line `end`, or None."""
    if not _ENDS_COLON.search(lines[end]):
        return None
    following = next((line for line in lines[end + 1:end + 4] if line.strip()), "")
    next_quoted = following.lstrip().startswith(">")
    best = None
    for start in range(end, max(end - MAX_WINDOW, -1), -1):
        if not lines[start].strip():
            break
        window = " ".join(_unquoted(line) for line in lines[start:end + 1])
        if not _wrote_header(window, start == end, next_quoted):
            continue
        first = _unquoted(lines[start])
        above_blank = start == 0 or not lines[start - 1].strip()
        if _OPENER.match(first) or above_blank:
            return start  # the shortest window that starts where a header starts
        best = start if best is None else best
    return best


def _block_end(lines: list[str], start: int, separated: bool = False) -> int | None:
    """The last line of an Outlook header block whose "From:" line is `start`, or None: three
    fields or more after "From:", or one with an address in the block, or one under a
    separator line ("From: Dhaka / To: Chittagong / Date: 12 March" is a customer's)."""
    fields = 0
    last = start
    evidence = bool(_ADDRESS.search(lines[start]))
    for i in range(start + 1, min(start + 1 + _FIELD_LOOKAHEAD + fields, len(lines))):
        line = lines[i]
        if not line.strip():
            break
        if _FIELD_LINE.match(line):
            fields += 1
            last = i
            evidence = evidence or bool(_ADDRESS.search(line))
        elif i - last > 2:
            break  # a value wraps onto one or two continuation lines at most
        else:
            evidence = evidence or bool(_ADDRESS.search(line))
    if fields >= 3 or (fields >= 1 and (evidence or separated)):
        return last
    return None


def headers(lines: list[str]) -> list[tuple[int, int]]:
    """(first line, last line) of every quote header in `lines`, in order."""
    found: list[tuple[int, int]] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        span = None
        if _ORIGINAL.match(line) or _ANDROID.match(line) or _RULE.match(line):
            nxt = next((j for j in range(i + 1, min(i + 3, n)) if lines[j].strip()), None)
            end = None
            if nxt is not None and _FROM_LINE.match(lines[nxt]):
                end = _block_end(lines, nxt, separated=True)
            if end is not None:
                span = (i, end)
            elif not _RULE.match(line):
                span = (i, i)
        elif _FROM_LINE.match(line):
            end = _block_end(lines, i)
            if end is not None:
                span = (i, end)
        if span is None and _ENDS_COLON.search(line):
            start = _wrote_start(lines, i)
            if start is not None:
                if found and start <= found[-1][1]:
                    start = found[-1][1] + 1
                span = (start, i)
        if span is not None:
            found.append(span)
            i = span[1] + 1
        else:
            i += 1
    return found
