"""HTML mail: a safe subset for display (nh3, the Rust ammonia sanitiser) and a text rendering
for the timeline (BeautifulSoup over the stdlib parser)."""
from __future__ import annotations

import re

MAX_HTML = 2_000_000
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_BLOCKS = ("p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "pre", "table", "hr")


def sanitise(html: str) -> str:
    """Scripts, styles, event handlers, forms and javascript: URLs removed; remote images are
    kept only as cid: (inline attachments) so opening a ticket does not ping a tracker."""
    import nh3

    return nh3.clean(html[:MAX_HTML], tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "tel", "cid"},
                     attribute_filter=_no_remote_images, link_rel="noopener noreferrer nofollow")


def _no_remote_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def to_text(html: str) -> str:
    """Readable text: blocks on their own lines, links as "text (url)", no script or style."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html[:MAX_HTML], "html.parser")
    for tag in soup(["script", "style", "head", "title", "noscript", "template"]):
        tag.decompose()
    for link in soup.find_all("a"):
        href = (link.get("href") or "").strip()
        label = link.get_text(" ", strip=True)
        if href.startswith(("http://", "https://", "mailto:")) and href.removeprefix("mailto:") != label:
            link.append(f" ({href})")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text()
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
