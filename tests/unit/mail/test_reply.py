"""reply.visible_text: the new text only, in English and Bengali, and nothing lost."""
from __future__ import annotations

import pytest

from chalicelib.mail.reply import visible_text

GMAIL_EN = """Yes, Tuesday works.

On Mon, 11 Mar 2024 at 16:02, Setu Support <support@setu.local> wrote:
> Would Tuesday suit you?
"""
GMAIL_EN_WRAPPED = """Yes, Tuesday works.

On Mon, 11 Mar 2024 at 16:02, Setu Support with a long name <support@setu.local>
wrote:
> Would Tuesday suit you?
"""
GMAIL_BN = """মঙ্গলবার ঠিক আছে।

২০২৪ সালের ১১ মার্চ, সোমবার তারিখে ৪:০২ PM এ Setu Support <support@setu.local> লিখেছেন:
> মঙ্গলবার কি সুবিধা হবে?
"""
BN_SHORT_HEADER = """ধন্যবাদ, পেয়েছি।

সেতু সাপোর্ট লিখেছেন:
> রসিদ পাঠানো হলো।
"""
OUTLOOK = """Please call me after 5pm.

-----Original Message-----
From: Setu Support <support@setu.local>
Sent: Monday, March 11, 2024 4:02 PM
To: Rahim <rahim@example.com>
Subject: [#SETU-1] Call back

When can we call you?
"""
OUTLOOK_NO_SEPARATOR = """Please call me after 5pm.

From: Setu Support <support@setu.local>
Sent: Monday, March 11, 2024 4:02 PM
To: Rahim <rahim@example.com>
Subject: [#SETU-1] Call back

When can we call you?
"""
OUTLOOK_BN = """বিকেল ৫টার পরে ফোন করুন।

প্রেরক: Setu Support <support@setu.local>
পাঠানো হয়েছে: সোমবার, ১১ মার্চ, ২০২৪ ৪:০২ PM
প্রাপক: রহিম <rahim@example.com>
বিষয়: [#SETU-1] কল

কখন ফোন করব?
"""
GERMAN = """Danke, erledigt.

Am 11.03.2024 um 16:02 schrieb Setu Support <support@setu.local>:
> Bitte bestätigen.
"""


@pytest.mark.parametrize("text,expected", [
    (GMAIL_EN, "Yes, Tuesday works."),
    (GMAIL_EN_WRAPPED, "Yes, Tuesday works."),
    (GMAIL_BN, "মঙ্গলবার ঠিক আছে।"),
    (BN_SHORT_HEADER, "ধন্যবাদ, পেয়েছি।"),
    (OUTLOOK, "Please call me after 5pm."),
    (OUTLOOK_NO_SEPARATOR, "Please call me after 5pm."),
    (OUTLOOK_BN, "বিকেল ৫টার পরে ফোন করুন।"),
    (GERMAN, "Danke, erledigt."),
])
def test_quote_headers_in_english_bengali_and_others(text, expected):
    assert visible_text(text) == expected
    assert visible_text(text.replace("\n", "\r\n")) == expected


@pytest.mark.parametrize("signature", [
    "-- \nRahim Uddin\nAcme Ltd, Dhaka",
    "Sent from my iPhone",
    "Sent from my Galaxy",
    "Get Outlook for Android",
    "Sent from Yahoo Mail on Android",
    "আমার আইফোন থেকে পাঠানো",
    "আমার Samsung Galaxy থেকে পাঠানো",
])
def test_signatures_are_removed(signature):
    assert visible_text(f"The parcel has arrived.\n\n{signature}\n") == "The parcel has arrived."


def test_sign_offs_and_text_that_only_looks_like_one_are_kept():
    text = "Hi,\n\nThanks, the parcel arrived broken.\nBest, the box was wet too.\n\nRegards,\nRahim"
    assert visible_text(text) == text


def test_lists_with_hyphens_are_kept():
    text = "Problems:\n- screen cracked\n- charger missing\n-no manual"
    assert visible_text(text) == text


def test_inline_answers_keep_the_answers():
    text = "> Which model?\nModel X2.\n\n> Which colour?\nBlue.\n"
    assert visible_text(text) == "Model X2.\n\nBlue."


def test_indentation_backslashes_and_every_character_survive():
    text = ("Log:\n    at C:\\Users\\rahim\\app.exe\n\tline \\n not a newline\n  {\"a\": \"\\u0041\"}\n"
            "\nOn Mon, 11 Mar 2024, Setu <support@setu.local> wrote:\n> old")
    assert visible_text(text) == text.split("\n\nOn Mon")[0]


def test_bottom_posting_keeps_the_answer():
    text = "On Mon, 11 Mar 2024, Setu <support@setu.local> wrote:\n> Any news?\n\nNot yet, still waiting."
    assert visible_text(text) == "Not yet, still waiting."


@pytest.mark.parametrize("text", [
    "> all\n> quoted\n",
    "On Mon, 11 Mar 2024, Setu <support@setu.local> wrote:\n> only a quote\n",
    "-- \nJust a signature",
    "Sent from my iPhone",
])
def test_never_empty_when_there_was_text(text):
    assert visible_text(text) == text.strip()


@pytest.mark.parametrize("text", ["", "   \n\t", None, 42])
def test_nothing_in_nothing_out(text):
    assert visible_text(text) in ("", "42")


def test_very_long_lines_and_adversarial_headers_keep_their_text():
    # growth with size (linear) is measured in `make bench` (mail), not timed here
    assert visible_text(("On " * 100 + "\n") * 400).startswith("On On")
    assert visible_text("On " * 50_000).startswith("On On")
    assert set(visible_text("x" * 200_000)) == {"x"}
