"""Benchmark: the AI features scored on the labelled support messages of `data/ai_eval.jsonl`.

Run: `python bench/bench_ai.py [--limit N] [--model] [--sandbox]`.

For the no-model fallback (always), with `--model` for the model that `OPENAI_BASE_URL`,
`OPENAI_API_KEY` and `OPENAI_MODEL` name (skipped, and said so, without them), and with
`--sandbox` for the sandbox's model server (deterministic: its figures are the product's path
and cost in tokens, not a model's judgement); a model is asked through the product's own
assistant (`integrations/ai/assistant.py`: its prompt, redaction and checks):
- triage accuracy per field: the share of messages whose category, priority, sentiment and
  language are the labelled ones, beside what always answering the commonest label gets; the
  language is lingua's (`integrations/ai/language.py`) for the fallback, which passes the
  caller's detection through, and the model's own for the model;
- redaction recall per kind: the share of labelled personal data values no longer in the text
  after `redact()`, both read as a person sees them (NFKC, invisible characters removed); and
  a precision proxy, the share of messages holding no personal data that `redact()` changed;
- draft citations from the knowledge base over the demo articles, a hit counting when its
  relevance reaches `DEFAULT_CUTOFF`: precision@1 (of the messages that get a draft, those whose
  first article is one labelled as answering), recall@3 (of the labelled articles, those among
  the first three hits), and how often a message no article answers gets no hit at all;
- the time per message of each step beside a floor (a call that does nothing, timed in the
  same run), and the tokens each message costs (none for the fallback).

The model sees each message redacted, as the product sends it, and answers with the `Triage`
schema; a message it gives no usable answer for (the assistant fell back) counts as wrong in
every field.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import percentile  # beside this script

from bot.core.text_seen import invisible
from integrations.ai.knowledge import DEFAULT_CUTOFF, KnowledgeBase
from integrations.ai.redact import redact
from integrations.ai.triage_fallback import DEFAULT_CATEGORIES, Triage, triage

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data" / "ai_eval.jsonl"
ARTICLES = BENCH.parent / "integrations" / "sandbox" / "knowledge"
FIELDS = ("category", "priority", "sentiment", "language")
PII_KINDS = ("email", "phone", "card", "token", "iban")
Detect = Callable[[str], str | None]


@dataclass(frozen=True)
class Example:
    """One labelled message (the fields of a line of the JSONL)."""

    id: str
    text: str
    language: str
    category: str
    priority: str
    sentiment: str
    pii: tuple[tuple[str, str], ...]
    articles: tuple[str, ...]


def load(path: Path = DATA, limit: int | None = None) -> list[Example]:
    """The labelled messages, in the file's order (the first `limit` of them)."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        row = json.loads(line)
        pii = tuple((item["kind"], item["value"]) for item in row["pii"])
        fields = {key: row[key] for key in ("id", "text", "language", "category")}
        examples.append(
            Example(
                **fields,
                priority=row["priority"],
                sentiment=row["sentiment"],
                pii=pii,
                articles=tuple(row["articles"]),
            )
        )
    return examples


# Scores ---------------------------------------------------------------------------------------


def accuracy(examples: Sequence[Example], answers: Sequence[Triage | None]) -> dict[str, float]:
    """Per field, the share of messages whose answer is the label (no answer: wrong)."""
    return {
        name: share(
            answer is not None and getattr(answer, name) == getattr(example, name)
            for example, answer in zip(examples, answers, strict=True)
        )
        for name in FIELDS
    }


def baseline(examples: Sequence[Example]) -> dict[str, float]:
    """Per field, the accuracy of always answering the commonest label: the floor to beat."""
    return {
        name: Counter(getattr(e, name) for e in examples).most_common(1)[0][1] / len(examples)
        for name in FIELDS
    }


def seen(text: str) -> str:
    """Text as a person (or a model) reads it: NFKC, invisible characters removed."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if c.isspace() or not invisible(c))


@dataclass(frozen=True)
class Redaction:
    recall: dict[str, float]  # per kind, over the labelled values of that kind
    labelled: dict[str, int]
    changed_without_pii: float  # share of messages with no personal data that were changed
    without_pii: int


def redaction(examples: Sequence[Example]) -> Redaction:
    hidden: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    changed = clean = 0
    for example in examples:
        result = redact(example.text)  # every kind, as the product redacts
        if not example.pii:
            clean += 1
            changed += result.text != example.text
        after = seen(result.text)
        for kind, value in example.pii:
            labelled[kind] += 1
            hidden[kind] += seen(value) not in after
    recall = {kind: hidden[kind] / labelled[kind] for kind in PII_KINDS if labelled[kind]}
    return Redaction(recall, dict(labelled), changed / clean if clean else 0.0, clean)


@dataclass(frozen=True)
class Citations:
    precision_at_1: float  # of messages with a hit at or above the cut-off
    recall_at_3: float  # of labelled articles
    quiet_without_answer: float  # of messages labelled with no article
    drafted: int
    labelled_articles: int
    unanswerable: int


def citations(examples: Sequence[Example], base: KnowledgeBase) -> Citations:
    first_right = drafted = found = labelled = quiet = unanswerable = 0
    for example in examples:
        found_now = base.search(example.text, 3)
        hits = [hit.article.slug for hit in found_now if hit.relevance >= DEFAULT_CUTOFF]
        if hits:
            drafted += 1
            first_right += hits[0] in example.articles
        labelled += len(example.articles)
        found += len(set(hits) & set(example.articles))
        if not example.articles:
            unanswerable += 1
            quiet += not hits
    return Citations(
        first_right / drafted if drafted else 0.0,
        found / labelled if labelled else 0.0,
        quiet / unanswerable if unanswerable else 0.0,
        drafted,
        labelled,
        unanswerable,
    )


def share(outcomes: Iterable[bool]) -> float:
    values = list(outcomes)
    return sum(values) / len(values) if values else 0.0


def timed(call: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    """Each call's duration in milliseconds."""
    durations = []
    for text in texts:
        started = time.perf_counter()
        call(text)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def nothing(text: str) -> None:
    return None


# The fallback ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one run measured; every share is in [0, 1]."""

    messages: int
    triage: dict[str, float]
    baseline: dict[str, float]
    redaction: Redaction
    citations: dict[str, Citations]  # "all", "en", "other languages"
    timings_ms: dict[str, list[float]] = field(default_factory=dict)
    tokens: int = 0
    language_warm_up_s: float | None = None


def language_detector() -> Detect | None:
    """lingua through `integrations/ai/language.py`, or None where that is not importable."""
    try:
        from integrations.ai import language
    except ImportError:
        return None

    def code(text: str) -> str | None:
        found = language.detect(text)
        return found.code if found else None

    return code


def run_fallback(examples: Sequence[Example], detect: Detect | None) -> Figures:
    """Every figure for the no-model fallback."""
    warm_up = None
    if detect is not None:
        started = time.perf_counter()
        detect("Where is my parcel? Wo ist mein Paket? Где моя посылка?")  # loads the models
        warm_up = time.perf_counter() - started
    languages = [detect(e.text) if detect else None for e in examples]
    answers = [
        triage(e.text, DEFAULT_CATEGORIES, language)
        for e, language in zip(examples, languages, strict=True)
    ]
    scores = accuracy(examples, answers)
    if detect is None:
        del scores["language"]
    base = KnowledgeBase(ARTICLES, clock=lambda: 0.0)  # a still clock: no change checks
    english = [e for e in examples if e.language == "en"]
    others = [e for e in examples if e.language != "en"]
    texts = [e.text for e in examples]
    timings = {
        "triage": timed(triage, texts),
        "redact": timed(redact, texts),
        "knowledge search": timed(lambda t: base.search(t, 3), texts),
        "floor (a no-op call)": timed(nothing, texts),
    }
    if detect is not None:
        timings["language"] = timed(detect, texts)
    return Figures(
        messages=len(examples),
        triage=scores,
        baseline=baseline(examples) if examples else {},
        redaction=redaction(examples),
        citations={
            "all": citations(examples, base),
            "en": citations(english, base),
            "other languages": citations(others, base),
        },
        timings_ms=timings,
        language_warm_up_s=warm_up,
    )


# The model ------------------------------------------------------------------------------------


@dataclass
class ModelRun:
    model: str
    triage: dict[str, float]
    failures: Counter[str]
    prompt_tokens: int
    completion_tokens: int
    seconds: float


async def run_model(
    examples: Sequence[Example], base_url: str, api_key: str, model: str, parallel: int = 4
) -> ModelRun:
    """Triage by a model through the product's own assistant (its prompt, its redaction, its
    checks on the answer); an answer that fell back counts as no usable answer."""
    from bot.core.ai_policy import AiPolicy
    from integrations.ai.assistant import build_assistant

    assistant = build_assistant(AiPolicy(timeout_seconds=60), api_key, base_url, model)
    gate = asyncio.Semaphore(parallel)
    failures: Counter[str] = Counter()
    tokens = [0, 0]

    async def one(example: Example) -> Triage | None:
        async with gate:
            done = await assistant.triage(example.text, use_model=True)
        for spend in done.spent:
            tokens[0] += spend.prompt_tokens
            tokens[1] += spend.completion_tokens
        if done.fallback is not None:
            failures[done.fallback] += 1
            return None
        t = done.triage
        return Triage(
            category=t.category,
            category_confidence=t.category_confidence,
            priority=t.priority.value,
            priority_confidence=t.priority_confidence,
            sentiment=t.sentiment,  # type: ignore[arg-type]
            sentiment_confidence=t.sentiment_confidence,
            language=t.language,
            title=t.title,
        )

    started = time.perf_counter()
    try:
        answers = await asyncio.gather(*(one(e) for e in examples))
    finally:
        await assistant.aclose()
    seconds = time.perf_counter() - started
    return ModelRun(model, accuracy(examples, answers), failures, tokens[0], tokens[1], seconds)


async def run_sandbox_model(examples: Sequence[Example]) -> ModelRun:
    """The same against the sandbox's model server: deterministic answers, so the figures show
    the product's path and its cost in tokens, not a model's judgement."""
    from integrations.sandbox.openai import OpenAIEmulator

    async with OpenAIEmulator() as server:
        return await run_model(examples, server.base_url, server.api_key, "gpt-4o-mini")


# Output ---------------------------------------------------------------------------------------


def print_figures(figures: Figures) -> None:
    print(f"fallback (no model), {figures.messages} messages")
    print("  triage accuracy: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.triage.items()))
    print(
        "    (always the commonest label: "
        + ", ".join(f"{k} {v:.2f}" for k, v in figures.baseline.items() if k in figures.triage)
        + ")"
    )
    if "language" not in figures.triage:
        print("  language: skipped (integrations/ai/language.py not importable)")
    red = figures.redaction
    recall = ", ".join(f"{k} {v:.2f} ({red.labelled[k]})" for k, v in red.recall.items())
    print(f"  redaction recall (labelled values): {recall}")
    print(
        f"  redaction precision proxy: {red.changed_without_pii:.2f} of the "
        f"{red.without_pii} messages without personal data were changed"
    )
    for name, cite in figures.citations.items():
        precision = f"{cite.precision_at_1:.2f}" if cite.drafted else "-"
        print(
            f"  citations, {name}: precision@1 {precision} ({cite.drafted} drafted),"
            f" recall@3 {cite.recall_at_3:.2f} ({cite.labelled_articles} articles),"
            f" no hit when none answers {cite.quiet_without_answer:.2f} ({cite.unanswerable})"
        )
    if figures.language_warm_up_s is not None:
        print(f"  language models loaded in {figures.language_warm_up_s:.1f} s (not timed below)")
    print("  time per message, p50 / p99:")
    for step, durations in figures.timings_ms.items():
        print(
            f"    {step}: {percentile(durations, 0.5):.4f} / {percentile(durations, 0.99):.4f} ms"
        )
    print(f"  added cost: {figures.tokens} tokens")


def print_model(run: ModelRun, messages: int) -> None:
    print(f"model {run.model}, {messages} messages in {run.seconds:.1f} s")
    print("  triage accuracy: " + ", ".join(f"{k} {v:.2f}" for k, v in run.triage.items()))
    if run.failures:
        print("  no usable answer: " + ", ".join(f"{r} ({n})" for r, n in run.failures.items()))
    total = run.prompt_tokens + run.completion_tokens
    print(
        f"  added cost: {total} tokens ({run.prompt_tokens} prompt, {run.completion_tokens}"
        f" completion), {total / max(1, messages):.0f} a message"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N messages")
    parser.add_argument("--model", action="store_true", help="also score the configured model")
    parser.add_argument(
        "--sandbox", action="store_true", help="also run the sandbox's model server (cost only)"
    )
    args = parser.parse_args()
    examples = load(limit=args.limit)
    print_figures(run_fallback(examples, language_detector()))
    if args.sandbox:
        print_model(asyncio.run(run_sandbox_model(examples)), len(examples))
    if not args.model:
        print("model: skipped (run with --model to score the configured model)")
        return
    base_url, key = os.getenv("OPENAI_BASE_URL"), os.getenv("OPENAI_API_KEY", "")
    if not base_url and not key:
        print("model: skipped (neither OPENAI_BASE_URL nor OPENAI_API_KEY is set)")
        return
    model = os.getenv("OPENAI_MODEL", "gpt-4o-mini")
    run = run_model(examples, base_url or "https://api.openai.com/v1", key, model)
    print_model(asyncio.run(run), len(examples))


if __name__ == "__main__":
    main()
