"""The knowledge base: a folder of Markdown articles, searched with BM25 (the `bm25s` library).

Drafted replies and the no-model fallback ("articles that may help") are grounded in these
articles. `KnowledgeBase(folder).search(question)` returns the best articles with a `relevance`
in [0, 1]; callers compare it with a cut-off (`DEFAULT_CUTOFF` unless the team sets another)
and, below it, draft nothing. `excerpt()` picks the passage of an article that answers best.

Relevance. bm25s scores with the Lucene variant of BM25: each query word `t` that an article
contains adds `idf(t) * tf / (tf + k1 * (1 - b + b * length / average_length))`, with
`idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))` over the N articles, df of which contain `t`.
The tf factor is below 1, so no article can score more than the sum of the query words' idf,
and `relevance` is the score divided by that sum: the share of the best score any article could
reach for this question. A query word that no article contains counts in the sum with the idf
of a word in no article (the largest there is), so a question mostly about something the base
does not cover scores low even when one of its words matches. One cap: the sum counts at most
`QUESTION_WORDS` (5) such words' worth. A customer's whole message holds many words no article
needs (names, dates, the story); past the cap it is judged on how much of it an article
answers, not on how much it says besides, as a five-word question would be. The ratio is then
clamped to 1.

On the demo base (`integrations/sandbox/knowledge/`), for the questions in
`tests/unit/test_knowledge.py`, the right article comes first for each paraphrase (short
questions and whole messages) with a relevance of 0.21 to 0.74, and the best article for each
unrelated question reaches at most 0.19. Hence `DEFAULT_CUTOFF` = 0.2. BM25 matches words, not
meanings: a message that shares incidental words with another article can rank it first, and
a team with its own base tunes the cut-off on its own questions.

Titles weigh more than body text: the title is indexed `TITLE_REPEAT` times before the body.
Words are compared without case, accents or plural endings, stop words left out, and greetings
and thanks are left out of questions (`articles.py`).

The folder is re-read when its files change: each search compares a fingerprint of the folder
(each article's path, size and modification time) with the last one, at most once every
`recheck_seconds`, and rebuilds the index when it differs. Building is synchronous and takes
one to two seconds for 2,000 articles of 500 words (`bench/bench_knowledge.py`): async callers
run `search` in a worker thread (`asyncio.to_thread`), which the lock below makes safe.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import bm25s  # type: ignore[import-untyped]

from .articles import Article, clip, parse_article, passages, query_terms, tokenize

__all__ = [
    "DEFAULT_CUTOFF",
    "QUESTION_WORDS",
    "TITLE_REPEAT",
    "Article",
    "Hit",
    "KnowledgeBase",
    "fingerprint",
]

log = logging.getLogger(__name__)

DEFAULT_CUTOFF = 0.2
"""Below this relevance no article is taken to answer the question (see the module's doc)."""

TITLE_REPEAT = 2
"""How many times an article's title is indexed before its body, so that its words weigh more."""

QUESTION_WORDS = 5
"""A question weighs at most as much as this many words that no article holds (module doc)."""

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Hit:
    """An article found for a question: its raw BM25 `score` and its `relevance` in [0, 1]."""

    article: Article
    score: float
    relevance: float


# The index -----------------------------------------------------------------------------------


class _Index:
    """One build of the BM25 index over a fixed list of articles (at least one word in all)."""

    def __init__(self, articles: tuple[Article, ...], tokens: list[list[str]]) -> None:
        self.articles = articles
        self._df = Counter(chain.from_iterable(map(set, tokens)))
        # Named although they are bm25s's defaults: the relevance relies on this variant.
        self._bm25 = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
        self._bm25.index(tokens, show_progress=False)

    def idf(self, word: str) -> float:
        """bm25s's Lucene idf; a word in no article gets the largest idf there is."""
        return _idf(len(self.articles), self._df.get(word, 0))

    def search(self, terms: list[str], limit: int) -> list[Hit]:
        if not any(term in self._df for term in terms):
            return []  # bm25s would score every article 0
        k = min(limit, len(self.articles))
        found = self._bm25.retrieve([terms], k=k, show_progress=False)
        # Capped: see QUESTION_WORDS. Past the cap the ratio can exceed 1, hence the min below.
        unseen = _idf(len(self.articles), 0)
        best = min(sum(self.idf(term) for term in terms), QUESTION_WORDS * unseen)
        hits = []
        for doc, score in zip(found.documents[0], found.scores[0], strict=True):
            if score > 0:
                relevance = min(1.0, float(score) / best)
                hits.append(Hit(self.articles[int(doc)], float(score), relevance))
        return hits


def _idf(articles: int, containing: int) -> float:
    return math.log(1 + (articles - containing + 0.5) / (containing + 0.5))


def _indexed_text(article: Article) -> str:
    return "\n".join([article.title] * TITLE_REPEAT + [article.body])


def _build(articles: tuple[Article, ...]) -> _Index | None:
    """The index, or None when no article holds a word (bm25s cannot index an empty corpus)."""
    tokens = tokenize([_indexed_text(article) for article in articles])
    return _Index(articles, tokens) if any(tokens) else None


# The folder ----------------------------------------------------------------------------------


def fingerprint(folder: Path) -> Fingerprint | None:
    """Each article file's relative path, size and modification time, by path; None without a
    folder. Hidden files and folders (.git, editors' folders) are skipped, and symbolic links
    to folders are not followed (a link to a parent would never end)."""
    if not folder.is_dir():
        return None
    entries: list[tuple[str, int, int]] = []
    _scan(folder, "", entries)
    return tuple(sorted(entries))


def _scan(folder: Path, prefix: str, entries: list[tuple[str, int, int]]) -> None:
    try:
        with os.scandir(folder) as listing:
            found = list(listing)
    except OSError:
        return  # vanished or unreadable meanwhile: the next check sees it as it is then
    for entry in found:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                _scan(Path(entry.path), f"{prefix}{entry.name}/", entries)
            elif entry.name.endswith(".md") and entry.is_file():
                stat = entry.stat()
                entries.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
        except OSError:
            continue  # deleted while listing, as above


class KnowledgeBase:
    """The articles of one folder, indexed for search and re-indexed when the files change.

    A folder that does not exist, or holds no readable article, is an empty base (one warning).
    `clock` returns seconds (monotonic); tests move it instead of waiting.
    """

    def __init__(
        self,
        folder: Path,
        *,
        recheck_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()  # one rebuild at a time when called from worker threads
        self._warned: set[object] = set()
        self._seen: Fingerprint | None = None
        self._articles: tuple[Article, ...] = ()
        self._index: _Index | None = None
        self._checked_at = clock()
        self._rebuild(fingerprint(folder))

    @property
    def articles(self) -> tuple[Article, ...]:
        """The articles indexed now (after a re-read if the folder changed), by path."""
        self._refresh()
        return self._articles

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        """The `limit` best articles for `query`, best first; only those sharing a word with it.

        An empty query, or one of stop words only, finds nothing.
        """
        self._refresh()
        terms = query_terms(query)
        index = self._index
        if limit < 1 or not terms or index is None:
            return []
        return index.search(terms, limit)

    def excerpt(self, hit: Hit, query: str, chars: int = 400) -> str:
        """The passage of `hit`'s article that matches `query` best, at most `chars` long.

        A passage is a paragraph, list or table (a sub-heading goes with what follows it).
        Passages are weighed by the idf of the query's words they contain; following passages
        are added while they fit; a passage too long is cut at a word, from its first sentence
        holding a query word. Without any matching passage, the article's beginning.
        """
        blocks = passages(hit.article.body) or [hit.article.title]
        terms = set(query_terms(query))
        index = self._index
        weights = [
            sum(index.idf(word) if index else 1.0 for word in terms.intersection(words))
            for words in tokenize(blocks)
        ]
        best = weights.index(max(weights))
        if len(blocks[best]) > chars:
            return clip(blocks[best], terms, chars)
        chosen = blocks[best]
        for following in blocks[best + 1 :]:
            if len(chosen) + 2 + len(following) > chars:
                break
            chosen += "\n\n" + following
        return chosen

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._checked_at < self.recheck_seconds:
            return
        with self._lock:
            self._checked_at = now
            current = fingerprint(self.folder)
            if current != self._seen:
                self._rebuild(current)

    def _rebuild(self, current: Fingerprint | None) -> None:
        started = time.perf_counter()
        self._seen = current
        if current is None:
            self._warn_once(("missing", self.folder), "knowledge base: no folder %s", self.folder)
            self._articles, self._index = (), None
            return
        self._warned.discard(("missing", self.folder))
        self._articles = tuple(self._read_all(current))
        self._index = _build(self._articles)
        log.info(
            "knowledge base: %d articles from %s indexed in %.0f ms",
            len(self._articles),
            self.folder,
            (time.perf_counter() - started) * 1000,
        )

    def _read_all(self, files: Fingerprint) -> list[Article]:
        articles = []
        for entry in files:
            relative = entry[0]
            path = self.folder / relative
            try:
                text = path.read_bytes().decode("utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else error
                # Once per state of the file: a re-index for another file does not repeat it.
                self._warn_once(entry, "knowledge base: skipping %s (%s)", path, reason)
                continue
            articles.append(parse_article(text, path, relative.removesuffix(".md")))
        return articles

    def _warn_once(self, key: object, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)
