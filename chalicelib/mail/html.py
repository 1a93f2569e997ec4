"""HTML mail: a safe subset for display, and a plain-text rendering people can read.

`sanitise` uses nh3 (MIT; Python binding of the Rust `ammonia` sanitiser, maintained, one
small abi3 wheel): an allow-list of tags and attributes, script/style/iframe content dropped,
event handlers and `javascript:` URLs gone, and images only from `cid:` (the message's own
inline parts) or small `data:image/...` URLs, so opening a ticket never fetches a tracking
pixel. `to_text` is a small renderer on the stdlib `html.parser` (no dependency; html2text is
GPL-3.0 and emits Markdown, escaping characters such as backslashes): blocks on their own
lines, lists with "- ", links as "text (url)", `<blockquote>` as "> " lines so that quoted
history in HTML-only replies is recognised by `reply.visible_text`.
"""
from __future__ import annotations

import re
from html import escape, unescape
from html.parser import HTMLParser

MAX_HTML = 4 * 1024 * 1024  # characters sanitised or rendered; the raw mail keeps the rest
MAX_DATA_URL = 256 * 1024
# Elements open at once. The HTML tree builder under nh3 scans the open elements for every new
# block (<div>, <blockquote>, <ul> ...): 20,000 nested divs took over a second, 50,000 fourteen.
# Deeper HTML is shown as its text. Quotes and lists deeper than MAX_SHOWN_DEPTH are rendered at
# that depth (">" prefixes repeated per line made 10,000 nested quotes 150 MB of text).
MAX_NESTING = 2000
MAX_SHOWN_DEPTH = 30

TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite",
    "code", "col", "colgroup", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure",
    "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "wbr",
}
CLEAN_CONTENT = {"script", "style", "title", "noscript", "template", "iframe", "object",
                 "embed", "svg", "math", "textarea", "select", "button", "head"}
ATTRIBUTES = {
    "*": {"dir", "lang", "title", "align", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign", "width"}, "th": {"colspan", "rowspan", "valign", "width"},
    "table": {"width", "cellpadding", "cellspacing", "border"},
    "ol": {"start", "type"}, "font": {"color", "size", "face"}, "blockquote": {"type"},
}
STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-align", "text-decoration", "vertical-align", "white-space", "direction",
    "margin", "margin-left", "margin-right", "margin-top", "margin-bottom",
    "padding", "padding-left", "padding-right", "padding-top", "padding-bottom",
    "border", "border-left", "border-top", "width", "height", "line-height",
}
# Kept so the agent UI can fold quoted history away.
CLASSES = {"div": {"gmail_quote", "gmail_attr", "gmail_signature", "yahoo_quoted",
                   "moz-cite-prefix", "moz-signature", "OutlookMessageHeader"},
           "blockquote": {"gmail_quote"}, "span": {"gmail_signature"}}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpe?g|webp);base64,[A-Za-z0-9+/=\s]*$", re.I)

_cleaner = None


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        lowered = value.strip().lower()
        if tag == "img" and (lowered.startswith("cid:") or (
                len(value) <= MAX_DATA_URL and _DATA_IMAGE.match(value.strip()))):
            return value
        return None  # remote images are trackers; anything else has no business here
    if attribute == "href":
        lowered = value.strip().lower()
        if lowered.startswith(_LINK_SCHEMES) or lowered.startswith("#"):
            return value
        return None
    if attribute == "style" and "url(" in value.lower():
        return None
    return value


def sanitise(html: str) -> str:
    """A display-safe subset of `html` (never raises; "" for nothing usable)."""
    global _cleaner
    if not html:
        return ""
    try:
        if _too_deep(html[:MAX_HTML]):
            raise ValueError("nested too deep")
        import nh3  # deferred: cold start, a compiled library only HTML mail needs

        if _cleaner is None:
            _cleaner = nh3.Cleaner(
                tags=TAGS, clean_content_tags=CLEAN_CONTENT, attributes=ATTRIBUTES,
                attribute_filter=_filter, strip_comments=True,
                link_rel="noopener noreferrer nofollow", url_schemes=URL_SCHEMES,
                filter_style_properties=STYLE_PROPERTIES, allowed_classes=CLASSES)
        return _cleaner.clean(html[:MAX_HTML])
    except Exception:  # noqa: BLE001 - fall back to the text, escaped
        return "<pre>" + escape(to_text(html)) + "</pre>"


_TAG_START = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)")
_CLOSED_BY_PARSER = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead",
                     "tbody", "tfoot", "colgroup", "rb", "rt", "rp"}


def _too_deep(html: str) -> bool:
    """More than MAX_NESTING elements open at some point (a linear scan of the tags)."""
    if html.count("<") <= MAX_NESTING:
        return False
    depth = 0
    for tag in _TAG_START.finditer(html):
        name = tag.group(2).lower()
        if name in _VOID or name in _CLOSED_BY_PARSER:
            continue
        if tag.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_NESTING:
                return True
    return False


# ---- text rendering ------------------------------------------------------------------------

_SKIP = {"script", "style", "head", "title", "noscript", "template", "iframe", "object",
         "embed", "svg", "math", "select", "button", "textarea"}
_BLOCK = {"p", "div", "section", "article", "header", "footer", "nav", "aside", "main",
          "address", "center", "form", "fieldset", "figure", "figcaption", "dl", "dt", "dd",
          "table", "thead", "tbody", "tfoot", "caption", "h1", "h2", "h3", "h4", "h5", "h6",
          "ul", "ol", "pre", "hr", "details", "summary", "blockquote", "li", "tr"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote",
              "hr", "dl"}
_VOID = {"br", "img", "hr", "wbr", "meta", "link", "input", "col", "area", "base", "source"}
_SPACE = re.compile(r"[ \t\n\r\f\u00a0\u200b]+")


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []   # (quote depth, text)
        self.line: list[str] = []
        self.line_depth = 0
        self.line_indent = ""                    # a list item's indentation, kept by _end_line
        self.depth = 0
        self.skip = 0
        self.pre = 0
        self.lists: list[list] = []              # [kind, counter]
        self.links: list[tuple[str | None, int]] = []
        self.cell = 0
        self.pending_blank = False

    # -- output
    def _text(self, text: str) -> None:
        if not text:
            return
        if not self.line:
            self.line_depth = self.depth
            if self.pending_blank:
                self._blank()
                self.pending_blank = False
        self.line.append(text)

    def _end_line(self) -> None:
        if self.line:
            text = "".join(self.line)
            if not self.pre:
                text = text.strip(" ")
            self.lines.append((self.line_depth, self.line_indent + text.rstrip()))
            self.line = []
        self.line_indent = ""
        self.line_depth = self.depth

    def _blank(self) -> None:
        if self.lines and self.lines[-1][1] != "":
            self.lines.append((min(self.depth, self.lines[-1][0]), ""))

    def _block(self, paragraph: bool) -> None:
        self._end_line()
        if paragraph:
            self.pending_blank = True

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        attributes = dict(attrs)
        if tag == "br":
            if not self.line:
                self._text("")
                self.lines.append((self.depth, ""))
            else:
                self._end_line()
            return
        if tag in _BLOCK:
            self._block(tag in _PARAGRAPH and not (tag in ("ul", "ol") and self.lists))
        if tag == "blockquote":
            self.depth += 1
            self.line_depth = self.depth
        elif tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            prefix = "- "
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                prefix = f"{self.lists[-1][1]}. "
            self._text(prefix)
            self.line_indent = "  " * min(len(self.lists) - 1, MAX_SHOWN_DEPTH)
        elif tag == "tr":
            self.cell = 0
        elif tag in ("td", "th"):
            if self.cell:
                self._text("  ")
            self.cell += 1
        elif tag == "a":
            self.links.append((attributes.get("href"), len(self._flat())))
        elif tag == "img":
            alt = _SPACE.sub(" ", attributes.get("alt") or "").strip()
            if alt:
                self._text(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag not in _VOID and self.skip:
                self.skip -= 1
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = self._flat()[start:].strip()
            link = (href or "").strip()
            shown = link[7:] if link.lower().startswith("mailto:") else link
            if link.lower().startswith(("http:", "https:", "mailto:")) and shown \
                    and shown not in label and label:
                self._text(f" ({link})")
            elif link.lower().startswith(("http:", "https:")) and not label:
                self._text(link)
            return
        if tag == "blockquote":
            self._end_line()
            self.depth = max(self.depth - 1, 0)
            self.line_depth = self.depth
            self.pending_blank = True
            return
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in _BLOCK:
            self._block(tag in _PARAGRAPH and not (tag in ("ul", "ol") and self.lists))
        if tag == "pre":
            self.pre = max(self.pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        if self.pre:
            parts = data.replace("\r\n", "\n").split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._end_line()
                    if not part and i < len(parts) - 1:
                        self.lines.append((self.depth, ""))
                self._text(part)
            return
        text = _SPACE.sub(" ", data)
        if not self.line or (self.line and self.line[-1].endswith(" ")):
            text = text.lstrip(" ")
        self._text(text)

    def _flat(self) -> str:
        return "".join(self.line)

    def result(self) -> str:
        self._end_line()
        out: list[str] = []
        for depth, text in self.lines:
            depth = min(depth, MAX_SHOWN_DEPTH)
            if not text and out and not out[-1].lstrip("> ").strip() and out[-1].count(">") == depth:
                continue  # one blank line at most
            prefix = "> " * depth if text else ">" * depth
            out.append(prefix + text)
        return "\n".join(out).strip("\n").strip()


_TAG = re.compile(r"<[^>]*>")


def to_text(html: str) -> str:
    """Readable plain text of an HTML body (never raises)."""
    if not html:
        return ""
    renderer = _Renderer()
    try:
        renderer.feed(html[:MAX_HTML])
        renderer.close()
        return renderer.result()
    except Exception:  # noqa: BLE001 - a renderer failure falls back to tag stripping
        text = unescape(_TAG.sub(" ", html[:MAX_HTML]))
        return "\n".join(_SPACE.sub(" ", line).strip() for line in text.splitlines()
                         if line.strip())
