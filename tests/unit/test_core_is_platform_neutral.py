"""The core names no platform: what a platform shows or needs is written in its adapter. Only a
comment may name one, to explain why something is the way it is."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "bot" / "core"
PLATFORM_NAME = re.compile(r"discord|slack", re.IGNORECASE)


def _named_outside_comments(path: Path) -> list[str]:
    """`file:line` of each token other than a comment (docstrings included) naming one."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [
        f"{path.name}:{token.start[0]}"
        for token in tokens
        if token.type != tokenize.COMMENT and PLATFORM_NAME.search(token.string)
    ]


def test_no_code_string_or_docstring_in_the_core_names_a_platform() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 20  # the core is where this test thinks it is
    found = [
        f"{path.relative_to(CORE)}: {where}"
        for path in files
        for where in _named_outside_comments(path)
    ]
    assert found == []


def test_the_check_sees_a_platform_name_in_code(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Posts to Slack."""\n# on Discord: explains why\nX = 1\n', encoding="utf-8"
    )
    assert _named_outside_comments(sample) == ["sample.py:1"]
