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
    return [
        Figure(name="inbound mail parsed per second", value=round(rate, 1), unit="msg/s",
               enforced=False, details=details,
               note=(f"parse + visible_text over {len(messages)} corpus messages x{repeat}, "
                     f"median of {runs} runs; reported only")),
        Figure(name="mail parse time / stdlib MIME parse", value=round(ratio, 2),
               unit="x", enforced=False, details={"runs": runs},
               note="same corpus, interleaved runs; reported only"),
    ]
