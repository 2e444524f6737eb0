"""The policy file shown in README.md is one Threadline accepts, key for key."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bot.config import Policy

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_policy_example_is_valid() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("These are its keys, with their defaults:", 1)[1]
    toml = block.split("```toml", 1)[1].split("```", 1)[0]
    policy = Policy.model_validate(tomllib.loads(toml))
    assert policy.calendar(policy.default_priority).name == "business"
