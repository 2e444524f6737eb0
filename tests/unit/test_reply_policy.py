"""The `[replies]` size cap: a default, and refused when it makes no sense."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from bot.config import Policy


def test_replies_are_capped_at_four_messages_by_default() -> None:
    assert Policy().replies.max_reply_chars == 8000


def test_the_cap_is_read_from_the_policy_file() -> None:
    policy = Policy.model_validate(tomllib.loads("[replies]\nmax_reply_chars = 4000\n"))
    assert policy.replies.max_reply_chars == 4000


@pytest.mark.parametrize("value", [0, -1, 100_001, "lots"])
def test_a_senseless_cap_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="max_reply_chars"):
        Policy.model_validate({"replies": {"max_reply_chars": value}})
