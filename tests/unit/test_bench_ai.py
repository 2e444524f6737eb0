"""The AI evaluation set is well formed, and `bench/bench_ai.py` measures the fallback on it."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, get_args

import pytest

from bot.core.text_seen import invisible
from integrations.ai.triage_fallback import DEFAULT_CATEGORIES, Triage

# The benchmark imports its neighbours as a script run from bench/ does.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_ai

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data" / "ai_eval.jsonl"
ARTICLES = {path.stem for path in (ROOT / "integrations" / "sandbox" / "knowledge").glob("*.md")}
FIELDS = ["id", "text", "language", "category", "priority", "sentiment", "pii", "articles"]
LANGUAGES = {"en", "de", "fr", "es", "pt", "it", "nl", "pl", "ja", "zh", "ru"}
KINDS = {"email", "phone", "card", "token", "iban"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def seen(text: str) -> str:
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if c.isspace() or not invisible(c))


def luhn_valid(number: str) -> bool:
    total = 0
    for place, digit in enumerate(reversed([int(d) for d in number])):
        doubled = digit * 2 if place % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# The data ---------------------------------------------------------------------------------------


def test_every_line_has_the_labelled_fields(rows: list[dict[str, Any]]) -> None:
    categories = {c.name for c in DEFAULT_CATEGORIES}
    priorities = set(get_args(Triage.model_fields["priority"].annotation))
    sentiments = set(get_args(Triage.model_fields["sentiment"].annotation))
    for row in rows:
        assert list(row) == FIELDS, row["id"]
        assert re.fullmatch(r"m[0-9]{3}", row["id"])
        assert row["text"].strip(), row["id"]
        assert row["language"] in LANGUAGES, row["id"]
        assert row["category"] in categories, row["id"]
        assert row["priority"] in priorities, row["id"]
        assert row["sentiment"] in sentiments, row["id"]
    assert len({row["id"] for row in rows}) == len(rows)


def test_personal_data_is_labelled_exactly_and_its_numbers_are_valid(
    rows: list[dict[str, Any]],
) -> None:
    for row in rows:
        for item in row["pii"]:
            assert set(item) == {"kind", "value"}, row["id"]
            assert item["kind"] in KINDS, row["id"]
            assert item["value"] in row["text"], row["id"]
            value = seen(item["value"])
            if item["kind"] == "card":
                digits = "".join(str(unicodedata.digit(c)) for c in value if c.isdigit())
                assert 13 <= len(digits) <= 19, row["id"]
                assert luhn_valid(digits), row["id"]
            if item["kind"] == "iban":
                compact = "".join(c for c in value if c.isalnum()).upper()
                assert re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact), row["id"]
                assert iban_valid(compact), row["id"]


def test_articles_are_slugs_of_the_demo_knowledge_base(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert set(row["articles"]) <= ARTICLES, row["id"]
        assert len(set(row["articles"])) == len(row["articles"]), row["id"]
    assert {slug for row in rows for slug in row["articles"]} == ARTICLES


def test_the_set_covers_languages_categories_and_personal_data(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 220
    languages = Counter(row["language"] for row in rows)
    assert 0.5 <= languages["en"] / len(rows) <= 0.7
    assert set(languages) == LANGUAGES
    for category in DEFAULT_CATEGORIES:
        spoken = {row["language"] for row in rows if row["category"] == category.name}
        assert len(spoken) >= 6, category.name
    assert {item["kind"] for row in rows for item in row["pii"]} == KINDS
    assert sum(bool(row["pii"]) for row in rows) / len(rows) >= 0.2
    assert any("\u200b" in row["text"] for row in rows if row["pii"])  # hidden characters
    assert any("\uff10" <= c <= "\uff19" for row in rows for c in row["text"])  # full-width
    assert sum(bool(row["articles"]) for row in rows) > len(rows) / 2
    assert any("ignore" in row["text"].lower() for row in rows)  # prompt injections


# The benchmark ------------------------------------------------------------------------------------


def test_the_fallback_figures_on_the_first_messages_are_shares() -> None:
    examples = bench_ai.load(limit=20)
    assert [e.id for e in examples] == [f"m{n:03d}" for n in range(1, 21)]
    figures = bench_ai.run_fallback(examples, bench_ai.language_detector())
    shares = [
        *figures.triage.values(),
        *figures.baseline.values(),
        *figures.redaction.recall.values(),
        figures.redaction.changed_without_pii,
    ]
    for cited in figures.citations.values():
        shares += [cited.precision_at_1, cited.recall_at_3, cited.quiet_without_answer]
    assert set(figures.triage) == {"category", "priority", "sentiment", "language"}
    for value in shares:
        assert isinstance(value, float)
        assert 0.0 <= value <= 1.0
    assert figures.tokens == 0
    for durations in figures.timings_ms.values():
        assert len(durations) == 20
        assert all(d >= 0 for d in durations)


def test_without_a_detector_the_language_is_left_out() -> None:
    figures = bench_ai.run_fallback(bench_ai.load(limit=5), None)
    assert "language" not in figures.triage
    assert figures.language_warm_up_s is None


def test_a_value_counts_as_hidden_only_when_a_reader_no_longer_sees_it() -> None:
    example = bench_ai.Example(
        id="x",
        text="mail me at ann\u200b@example.com",
        language="en",
        category="Other",
        priority="normal",
        sentiment="neutral",
        pii=(("email", "ann\u200b@example.com"),),
        articles=(),
    )
    result = bench_ai.redaction([example])
    assert result.recall == {"email": 1.0}
    assert result.labelled == {"email": 1}
