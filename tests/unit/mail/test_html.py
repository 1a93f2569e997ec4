"""html.sanitise and html.to_text."""
from __future__ import annotations

import pytest

from chalicelib.mail.html import sanitise, to_text


@pytest.mark.parametrize("dirty,gone", [
    ("<script>alert(1)</script><p>hi</p>", "alert"),
    ("<style>p{color:red}</style><p>hi</p>", "color:red"),
    ('<p onclick="steal()">hi</p>', "onclick"),
    ('<a href="javascript:alert(1)">x</a>', "javascript"),
    ('<a href="data:text/html,<script>">x</a>', "data:"),
    ('<img src="https://tracker.example/p.gif">', "tracker.example"),
    ('<img src="//tracker.example/p.gif">', "tracker.example"),
    ('<p style="background:url(https://tracker.example/x)">hi</p>', "tracker.example"),
    ('<iframe src="https://evil.example"></iframe>', "evil.example"),
    ('<form action="https://evil.example"><input name=p></form>', "evil.example"),
    ("<svg><script>alert(1)</script></svg>", "alert"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "evil.example"),
])
def test_sanitise_removes_what_can_run_or_track(dirty, gone):
    assert gone not in sanitise(dirty)


def test_sanitise_keeps_content_links_inline_images_and_quote_classes():
    clean = sanitise('<div class="gmail_quote x"><b>Hi</b> <a href="https://e.example/a">link</a>'
                     '<img src="cid:logo@x" alt="logo"><blockquote>old</blockquote></div>')
    assert '<a href="https://e.example/a" rel="noopener noreferrer nofollow">link</a>' in clean
    assert 'src="cid:logo@x"' in clean and "<b>Hi</b>" in clean
    assert 'class="gmail_quote"' in clean and "<blockquote>old</blockquote>" in clean


def test_sanitise_keeps_backslashes_and_bengali():
    assert sanitise("<p>C:\\Users\\রহিম</p>") == "<p>C:\\Users\\রহিম</p>"


def test_to_text_blocks_lists_links_quotes_and_entities():
    html = ("<html><head><title>T</title><style>x{}</style></head><body>"
            "<h1>Order&nbsp;update</h1><p>Your order <b>#7781</b> has shipped.</p>"
            "<ul><li>Phone</li><li>Charger</li></ul><ol><li>one</li><li>two</li></ol>"
            '<p>Track it <a href="https://t.example/7781">here</a> or <a href="mailto:a@b.example">'
            "a@b.example</a>.</p><div>On Mon, Setu wrote:</div><blockquote>old <br>text"
            "<blockquote>older</blockquote></blockquote><pre>  C:\\dir\n    indented</pre>"
            "<table><tr><td>Item</td><td>Qty</td></tr><tr><td>Phone</td><td>1</td></tr></table>"
            "<script>var x = 1;</script>Tom &amp; Jerry &lt;3</body></html>")
    assert to_text(html) == (
        "Order update\n\nYour order #7781 has shipped.\n\n- Phone\n- Charger\n\n1. one\n2. two\n\n"
        "Track it here (https://t.example/7781) or a@b.example.\n\nOn Mon, Setu wrote:\n\n"
        "> old\n> text\n>\n> > older\n\n  C:\\dir\n    indented\n\nItem  Qty\nPhone  1\n\n"
        "Tom & Jerry <3")


@pytest.mark.parametrize("html", ["", "<", "<<>>", "<p", "</div></div>", "&#99999999;",
                                  "<a href='x'>", "<!-- never closed", "<![CDATA[ x", "\x00"])
def test_to_text_and_sanitise_never_raise(html):
    assert isinstance(to_text(html), str)
    assert isinstance(sanitise(html), str)


def test_deeply_nested_quotes_render_in_bounded_size():
    text = to_text("<blockquote>x" * 20000)
    assert len(text) < 2_000_000
    assert text.startswith("> x") and text.count("x") == 20000


def test_deeply_nested_blocks_are_sanitised():
    # growth with size (linear) is measured in `make bench` (mail), not timed here
    out = sanitise("<div>" * 60000 + "C:\\x")
    assert "C:\\x" in out and "<script" not in out


def test_nested_lists_are_indented():
    assert to_text("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>") == "- a\n  - b\n- c"
