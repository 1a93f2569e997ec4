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
"""
from __future__ import annotations

import email
import email.policy
import statistics
import time
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "mail"


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
    return growth() + [
        Figure(name="inbound mail parsed per second", value=round(rate, 1), unit="msg/s",
               enforced=False, details=details,
               note=(f"parse + visible_text over {len(messages)} corpus messages x{repeat}, "
                     f"median of {runs} runs; reported only")),
        Figure(name="mail parse time / stdlib MIME parse", value=round(ratio, 2),
               unit="x", enforced=False, details={"runs": runs},
               note="same corpus, interleaved runs; reported only"),
    ]
