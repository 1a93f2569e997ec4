"""(d) Inbound mail parsed per second: `parse` + `reply.visible_text` over the test corpus.

The corpus is tests/fixtures/mail/*.eml (real-world-shaped messages: clients, charsets, reports,
broken MIME, one 500 kB header block). One run parses every message `repeat` times; the figure
is the median over `runs` runs, in messages per second. Reported only: there is no goal yet.

A rate alone moves with the machine, so the same runs also time the stdlib's bare MIME parse,
`email.message_from_bytes(raw, policy=email.policy.compat32)` (the parse `parse` itself starts
with), over the same corpus, interleaved
with ours (alternating which goes first) so drift hits both alike; the second figure is
median(ours) / median(stdlib) per message, i.e. what the charset repair, decoding, HTML
sanitising and reply stripping cost on top of the stdlib's MIME parse. One warm-up pass first
(imports, regex compilation, charset-normalizer's tables).

On the project's own sample sets it also reports (`fidelity`):
* reply stripping: the share of tests/fixtures/mail/replies/samples.json whose new text
  `visible_text` gives exactly, overall and per language (goal >= 90% overall and in every
  language with three or more samples, enforced; smaller languages are reported only);
* header decoding: the share of tests/fixtures/mail/headers/*.eml (raw 8-bit Subject and From
  names in legacy charsets, no RFC 2047) whose subject and display name come out exactly
  (goal 100%, enforced);
* the worst case per message: each message of every sample set parsed (+ visible_text) and,
  separately, by the stdlib alone, median of 5 runs each; the figure is the largest
  ours/stdlib ratio over the messages, with that message named (reported only; the growth
  figures above are the enforced worst cases), and its time in ms beside it in the note.
"""
from __future__ import annotations

import email
import email.policy
import json
import statistics
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "mail"
REPLIES = CORPUS / "replies" / "samples.json"
HEADERS = CORPUS / "headers"


def _corpus() -> list[bytes]:
    messages = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    if not messages:
        raise RuntimeError(f"no .eml files in {CORPUS}")
    return messages


def _ours(messages: list[bytes], repeat: int) -> float:
    from chalicelib.mail.parse import parse
    from chalicelib.mail.reply import visible_text

    started = time.perf_counter()
    for _ in range(repeat):
        for raw in messages:
            visible_text(parse(raw).text)
    return time.perf_counter() - started


def _stdlib(messages: list[bytes], repeat: int) -> float:
    policy = email.policy.compat32
    started = time.perf_counter()
    for _ in range(repeat):
        for raw in messages:
            email.message_from_bytes(raw, policy=policy)
    return time.perf_counter() - started


def _adversarial():
    """Inputs that once took minutes (quadratic regexes, deep nesting): name -> f(size) -> work."""
    from chalicelib.mail import rtf
    from chalicelib.mail.html import sanitise
    from chalicelib.mail.parse import parse
    from chalicelib.mail.reply import visible_text

    def mail(body: bytes) -> bytes:
        return b"From: a@example.com\nSubject: x\nContent-Type: text/plain\n\n" + body

    return {
        "RTF groups": lambda n: rtf.convert(b"{\\rtf1 " + b"{\\b x}\\par " * n + b"}"),
        "RTF nesting": lambda n: rtf.convert(b"{\\rtf1 " + b"{" * (10 * n)),
        "nested HTML": lambda n: sanitise("<div>" * n + "x"),
        "quote-like lines": lambda n: visible_text("On " * n),
        "uuencode begin lines": lambda n: parse(mail(b"begin 644 a.txt\nM" + b"a" * 60 + b"\n") * (n // 5)),
        "wrapped quote headers": lambda n: visible_text(
            "On Mon, 11 Mar 2024 at 16:02, Setu Support <support@setu.local>\nwrote:\n"
            * (n // 60)),
        "Outlook header blocks": lambda n: visible_text("Von: a\nAn: b\nBetreff: c\n" * (n // 25)),
        "raw 8-bit headers": lambda n: parse(
            b"From: a@example.com\n" + b"".join(b"X-%d: " % i + "退款申请".encode("gbk") * 8 + b"\n"
                                               for i in range(n // 400)) + b"\nbody"),
    }


def growth(size: int = 20_000, runs: int = 5) -> list[Figure]:
    """Time at 2x the size over time at 1x, per adversarial input: about 2 when linear, 4 when
    quadratic. A ratio of one run to another on the same machine holds on a noisy one."""
    figures = []
    for name, work in _adversarial().items():
        ratios = []
        for _ in range(runs):
            timings = []
            for n in (size, 2 * size):
                started = time.perf_counter()
                work(n)
                timings.append(time.perf_counter() - started)
            ratios.append(timings[1] / max(timings[0], 1e-6))
        figures.append(Figure(name=f"mail worst case, {name}: time at 2x size / 1x",
                              value=round(statistics.median(ratios), 2), unit="x", goal=3.2,
                              note=f"median of {runs}; linear is about 2, quadratic 4"))
    return figures


def reply_samples() -> list[dict]:
    return json.loads(REPLIES.read_text(encoding="utf-8"))


def reply_rates(samples: list[dict]) -> tuple[Counter, Counter]:
    """(exact, total) per language: `visible_text` gave exactly the expected new text."""
    from chalicelib.mail.reply import visible_text

    exact: Counter = Counter()
    total: Counter = Counter()
    for sample in samples:
        total[sample["lang"]] += 1
        exact[sample["lang"]] += visible_text(sample["text"]) == sample["expected"]
    return exact, total


def header_results() -> tuple[int, int, list[str]]:
    """(correct, total, wrong file names) over the header-decoding samples."""
    from chalicelib.mail.parse import parse

    expected = json.loads((HEADERS / "expected.json").read_text(encoding="utf-8"))
    wrong = []
    for name, expect in sorted(expected.items()):
        mail = parse((HEADERS / name).read_bytes())
        if (mail.subject, mail.from_name) != (expect["subject"], expect["from_name"]):
            wrong.append(name)
    return len(expected) - len(wrong), len(expected), wrong


def _all_messages() -> dict[str, bytes]:
    """Every message of the sample sets: the corpus, the header samples, the replies as mail."""
    messages = {p.name: p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))}
    messages.update({f"headers/{p.name}": p.read_bytes() for p in sorted(HEADERS.glob("*.eml"))})
    for sample in reply_samples():
        message = EmailMessage()
        message["From"] = "customer@example.com"
        message["Subject"] = "Re: [#SETU-1042]"
        message.set_content(sample["text"])
        messages[f"replies/{sample['id']}"] = message.as_bytes()
    return messages


def worst_case(runs: int = 5) -> Figure:
    from chalicelib.mail.parse import parse
    from chalicelib.mail.reply import visible_text

    policy = email.policy.compat32
    rows = []
    for name, raw in _all_messages().items():
        visible_text(parse(raw).text)  # warm-up
        ours, stdlib = [], []
        for _ in range(runs):
            started = time.perf_counter()
            visible_text(parse(raw).text)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            email.message_from_bytes(raw, policy=policy)
            stdlib.append(time.perf_counter() - started)
        mine, theirs = statistics.median(ours), statistics.median(stdlib)
        rows.append((mine / max(theirs, 1e-7), mine, name))
    rows.sort(reverse=True)
    ratio, seconds, name = rows[0]
    slowest = max(rows, key=lambda row: row[1])
    return Figure(
        name="mail worst message: parse + visible_text / stdlib MIME parse of it",
        value=round(ratio, 1), unit="x", enforced=False,
        details={"messages": len(rows), "runs": runs, "worst": name,
                 "worst_ms": round(seconds * 1000, 2), "slowest": slowest[2],
                 "slowest_ms": round(slowest[1] * 1000, 2),
                 "lines": [f"worst ratio: {name} ({seconds * 1000:.2f} ms); slowest: "
                           f"{slowest[2]} ({slowest[1] * 1000:.2f} ms), over {len(rows)} "
                           f"messages of the sample sets"]},
        note=f"median of {runs} runs per message; reported only (the growth figures are enforced)")


def fidelity() -> list[Figure]:
    """Reply stripping per language and header decoding, on the project's sample sets."""
    exact, total = reply_rates(reply_samples())
    all_exact, all_total = sum(exact.values()), sum(total.values())
    per_language = ", ".join(f"{lang} {exact[lang]}/{n}" for lang, n in sorted(total.items()))
    figures = [Figure(name="reply stripping exact new text, all languages",
                      value=round(100 * all_exact / all_total, 1), unit="%", goal=90,
                      compare="ge", details={"exact": all_exact, "samples": all_total,
                                             "lines": [f"per language: {per_language}"]},
                      note=f"{all_exact}/{all_total} samples in {len(total)} languages")]
    for lang, n in sorted(total.items()):
        figures.append(Figure(name=f"reply stripping exact new text, {lang}",
                              value=round(100 * exact[lang] / n, 1), unit="%", goal=90,
                              compare="ge", enforced=n >= 3,
                              note=f"{exact[lang]}/{n} samples"
                                   + ("" if n >= 3 else "; under 3 samples: reported only")))
    correct, count, wrong = header_results()
    figures.append(Figure(name="raw 8-bit header decoding correct",
                          value=round(100 * correct / count, 1), unit="%", goal=100, compare="ge",
                          details={"correct": correct, "samples": count, "wrong": wrong},
                          note=f"{correct}/{count} subjects and display names exact "
                               "(GBK, GB18030, Big5, Shift_JIS, ISO-2022-JP, KOI8-R, "
                               "windows-1251, windows-1252, Bengali UTF-8)"))
    return figures


def measure(runs: int = 7, repeat: int = 3) -> list[Figure]:
    runs = max(runs, 5)
    messages = _corpus()
    _ours(messages, 1), _stdlib(messages, 1)  # warm-up
    ours: list[float] = []
    stdlib: list[float] = []
    for i in range(runs):
        if i % 2 == 0:
            ours.append(_ours(messages, repeat))
            stdlib.append(_stdlib(messages, repeat))
        else:
            stdlib.append(_stdlib(messages, repeat))
            ours.append(_ours(messages, repeat))
    count = len(messages) * repeat
    rate = count / statistics.median(ours)
    ratio = statistics.median(ours) / statistics.median(stdlib)
    details = {"messages": len(messages), "repeat": repeat, "runs": runs,
               "corpus_bytes": sum(len(m) for m in messages),
               "ours_median_s": round(statistics.median(ours), 4),
               "stdlib_median_s": round(statistics.median(stdlib), 4),
               "stdlib_messages_per_second": round(count / statistics.median(stdlib), 1)}
    return fidelity() + growth() + [worst_case()] + [
        Figure(name="inbound mail parsed per second", value=round(rate, 1), unit="msg/s",
               enforced=False, details=details,
               note=(f"parse + visible_text over {len(messages)} corpus messages x{repeat}, "
                     f"median of {runs} runs; reported only")),
        Figure(name="mail parse time / stdlib MIME parse", value=round(ratio, 2),
               unit="x", enforced=False, details={"runs": runs},
               note="same corpus, interleaved runs; reported only"),
    ]
