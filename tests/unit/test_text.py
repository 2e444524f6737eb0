"""Long messages are split at paragraph, line, sentence or word boundaries, never mid-word."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import split_message


def test_short_text_is_one_piece() -> None:
    assert split_message("  hello  ", 2000) == ["hello"]
    assert split_message("", 2000) == []


def test_paragraphs_come_first() -> None:
    text = "First paragraph here.\n\nSecond one, a bit longer than the first."
    assert split_message(text, 45) == [
        "First paragraph here.",
        "Second one, a bit longer than the first.",
    ]


def test_then_sentences() -> None:
    text = "One sentence. Another sentence! A third one? Yes."
    assert split_message(text, 30) == ["One sentence.", "Another sentence! A third one?", "Yes."]
    assert split_message(text, 28) == ["One sentence.", "Another sentence!", "A third one? Yes."]


def test_then_words() -> None:
    assert split_message("alpha beta gamma delta", 11) == ["alpha beta", "gamma delta"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_a_10000_character_message_fits_discord() -> None:
    text = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 200).strip()
    pieces = split_message(text, 2000)
    assert len(pieces) == 6
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.endswith(".") for p in pieces)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_message("x", 0)


words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
separators = st.sampled_from([" ", " ", " ", ". ", "\n", "\n\n", "! "])


@given(st.lists(st.tuples(words, separators), min_size=1, max_size=120), st.integers(12, 300))
def test_pieces_fit_keep_every_word_and_never_cut_a_word(
    parts: list[tuple[str, str]], limit: int
) -> None:
    text = "".join(word + sep for word, sep in parts)
    pieces = split_message(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert re.findall(r"\w+", " ".join(pieces)) == re.findall(r"\w+", text)
    original = set(re.findall(r"\w+", text))
    for piece in pieces:
        assert set(re.findall(r"\w+", piece)) <= original
