"""Search words, templates (bn/en, Bengali digits, Dhaka time), ids and refs."""
import time
from datetime import datetime, timezone

from chalicelib import ids
from chalicelib.services.tickets import search
from chalicelib.services.messaging import templates


def test_bengali_words_keep_their_vowel_signs():
    assert search.words("আমার অর্ডার দেরি হচ্ছে, Refund please!") == ["অর্ডার", "দেরি", "হচ্ছে", "refund", "please"]


def test_words_are_distinct_and_capped():
    assert search.words("a b cc cc dd " + " ".join(f"w{n}" for n in range(40)), limit=5) == \
        ["cc", "dd", "w0", "w1", "w2"]


def test_ack_in_bengali_uses_bengali_digits_and_dhaka_time():
    subject, text, html = templates.render_email(
        "ack", "bn", name="", business="Setu", department="বিক্রয়", ref="1042",
        subject="<b>x</b>", due_at=datetime(2026, 11, 23, 4, 30, tzinfo=timezone.utc),
        message="<script>alert(1)</script>", links=[])
    assert subject.startswith("[#১০৪২]")
    assert "সোমবার, ২৩ নভেম্বর, ১০:৩০" in text  # 04:30 UTC is 10:30 in Dhaka
    assert "প্রিয় গ্রাহক" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>alert(1)</script>" in text  # plain text is not HTML-escaped


def test_ack_in_english():
    subject, text, _ = templates.render_email(
        "ack", "en", name="Karim", business="Setu", department="Sales", ref="1042",
        subject="Late order", due_at=None, message="m",
        links=[{"label": "Price list", "url": "https://x/prices"}])
    assert subject == "[#1042] We received your request: Late order"
    assert "Dear Karim" in text and "- Price list: https://x/prices" in text
    assert "will answer by" not in text


def test_ids_are_time_ordered_and_unique():
    made = [ids.new_id("t") for _ in range(200)]
    assert len(set(made)) == 200
    assert all(len(x) == 28 and x.startswith("t_") for x in made)
    time.sleep(0.002)  # ids sort by their millisecond; within one, the random part decides
    assert ids.new_id("t") > made[-1]


def test_search_words_skip_overlong_tokens():
    # a 3,000-digit "word" would be an invalid DynamoDB key, and nobody searches for one
    assert search.words("bill " + "9" * 3000 + " refund") == ["bill", "refund"]
    assert search.words("x" * 40) == ["x" * 40] and search.words("x" * 41) == []
