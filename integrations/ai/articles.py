"""Markdown articles for the knowledge base: parsing a file, the words the index sees, passages.

See `integrations/ai/knowledge.py` for the index and search over them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s  # type: ignore[import-untyped]

# bm25s's NLTK English list ("en_plus"): "en" is Lucene's 33 words, which keeps "my", "how",
# "can"... and those would match every article.
STOPWORDS = "en_plus"


@dataclass(frozen=True)
class Article:
    """One Markdown file of the knowledge base.

    `slug` is its path in the folder without `.md` ("billing/refunds"): stable, unique, what a
    draft cites. `title` is the front matter's `title:`, else the first `# ` heading, else the
    file's name. `body` is the Markdown after the front matter, less that heading when the
    title is taken from it.
    """

    path: Path
    slug: str
    title: str
    body: str


# Parsing -------------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}# +(.+?)(?: +#+)? *$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_FRONT_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")


def parse_article(text: str, path: Path, slug: str) -> Article:
    """An article from a Markdown file's text (front matter, then an optional `# ` title)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front, lines = _front_matter(lines)
    title = front.get("title", "").strip().strip("\"'").strip()
    if not title:
        heading, lines = _first_heading(lines)
        title = heading or _title_from_name(path)
    return Article(path=path, slug=slug, title=title, body="\n".join(lines).strip())


def _front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """`key: value` lines between a first line `---` and the next `---` (or `...`); a block
    that is never closed is not front matter but text."""
    if not lines or lines[0].strip() != "---":
        return {}, lines
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            found = (_FRONT_KEY.match(line) for line in lines[1:end])
            keys = {m.group(1).lower(): m.group(2) for m in found if m}
            return keys, lines[end + 1 :]
    return {}, lines


def _first_heading(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first level-one heading outside code blocks, and the lines without it."""
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            return match.group(1).strip(), lines[:i] + lines[i + 1 :]
    return None, lines


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip() or path.stem
    return words[:1].upper() + words[1:]


# Tokens --------------------------------------------------------------------------------------


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold(text: str) -> str:
    """Lower case without accents, so that "Rückerstattung" and "ruckerstattung", "Café" and
    "cafe" meet. Only runs of non-ASCII characters are decomposed: most of an article is ASCII,
    and this is most of the time an index takes."""
    return _NON_ASCII.sub(_unaccented, text.casefold())


def _unaccented(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", match.group())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _s_stem(words: list[str]) -> list[str]:
    """Plurals folded to the singular: Harman's "S" stemmer (1991), plus "-es" after a sibilant
    ("boxes", "addresses", "watches"). "parcels" -> "parcel", "deliveries" -> "delivery".
    Written here rather than requiring PyStemmer (a compiled extension): a few rules that
    rarely join unrelated words, where plurals are most of what a support question varies."""
    return [_singular(word) for word in words]


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("us", "ss", "is")):
        return word
    if word.endswith("ies") and len(word) > 4 and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    return word[:-1]


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words as the index sees them: folded, stop words out, plurals folded."""
    if not texts:
        return []
    tokens: list[list[str]] = bm25s.tokenize(
        [_fold(text) for text in texts],
        lower=False,
        stopwords=STOPWORDS,
        stemmer=_s_stem,
        return_ids=False,
        show_progress=False,
    )
    return tokens


# Greetings, politeness and the verbs of asking that customers' messages are full of and that
# say nothing of the topic. Left out of queries only: kept in a query, the ones no article holds
# would count against every article's relevance (see `knowledge.py`).
_SMALL_TALK = frozenset(
    _s_stem(
        [
            "hi",
            "hello",
            "hey",
            "hiya",
            "dear",
            "thanks",
            "thank",
            "thx",
            "ty",
            "cheers",
            "regards",
            "please",
            "pls",
            "plz",
            "help",
            "sorry",
            "morning",
            "afternoon",
            "evening",
            "ok",
            "okay",
            # How a request is put ("I want a refund", "I would like to..."), not its topic.
            "want",
            "wanted",
            "need",
            "like",
            "would",
            "get",
        ]
    )
)


def query_terms(query: str) -> list[str]:
    """The query's distinct topical words (a repeated word would count twice in BM25's sum)."""
    words = tokenize([query])[0] if query.strip() else []
    return [word for word in dict.fromkeys(words) if word not in _SMALL_TALK]


# Excerpts ------------------------------------------------------------------------------------

_BLOCK_LINE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|\||>)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def passages(body: str) -> list[str]:
    """The body's blocks (split at blank lines), soft-wrapped lines joined, each sub-heading
    kept with the block after it."""
    found: list[str] = []
    heading = ""
    for block in re.split(r"\n\s*\n", body):
        lines = [line.rstrip() for line in block.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and lines[0].lstrip().startswith("#"):
            heading = f"{heading}{lines[0].strip()}\n"
            continue
        found.append(heading + _unwrap(lines))
        heading = ""
    if heading:
        found.append(heading.strip())
    return found


def _unwrap(lines: list[str]) -> str:
    """A block's lines with soft line breaks made spaces; list items and the like keep theirs."""
    joined = lines[0].strip()
    for line in lines[1:]:
        joined += ("\n" if _BLOCK_LINE.match(line) else " ") + line.strip()
    return joined


def clip(passage: str, terms: set[str], chars: int) -> str:
    """At most `chars` of `passage`, from its first sentence holding a query word, cut at a
    word boundary with an ellipsis."""
    sentences = _SENTENCE_END.split(passage)
    words = tokenize(sentences)
    start = next((i for i, found in enumerate(words) if terms.intersection(found)), 0)
    text = " ".join(sentences[start:])
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"
