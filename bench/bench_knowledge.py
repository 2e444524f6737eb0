"""Benchmark: the knowledge base over 2,000 Markdown articles of about 500 words.

Run: `python bench/bench_knowledge.py [--articles 2000] [--words 500] [--queries 1000]
[--max-index-seconds 5]`.

The articles are written to a temporary folder: English-like text drawn from a vocabulary of
20,000 made-up words with Zipf-like frequencies (a fixed seed), a title of four to six words.
Timed:
- the index: `KnowledgeBase(folder)`, which reads, parses, tokenises and indexes every file;
- the change check a search makes at most every two seconds (the folder's fingerprint);
- `--queries` searches (three to eight words, half of them from one article, half random),
  p50 and p99, with the change check held off so that each is the search alone;
- beside them, as the floor, the same loop around a call that does nothing.
Exits 1 when the index takes more than `--max-index-seconds`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import percentile  # beside this script

from integrations.ai.knowledge import KnowledgeBase, fingerprint

VOCABULARY = 20_000


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted({"".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(VOCABULARY)})
    rng.shuffle(words)
    return words, [1 / (rank + 1) for rank in range(len(words))]


def write_articles(folder: Path, count: int, length: int, rng: random.Random) -> list[list[str]]:
    words, weights = vocabulary(rng)
    bodies = []
    for i in range(count):
        title = " ".join(rng.choices(words, weights, k=rng.randint(4, 6))).capitalize()
        body = rng.choices(words, weights, k=length)
        paragraphs = [" ".join(body[start : start + 60]) + "." for start in range(0, length, 60)]
        text = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"article-{i:05}.md").write_text(text, encoding="utf-8")
        bodies.append(body)
    return bodies


def queries(bodies: list[list[str]], count: int, rng: random.Random) -> list[str]:
    every_word = [word for body in bodies[:50] for word in body]
    made = []
    for i in range(count):
        source = rng.choice(bodies) if i % 2 == 0 else every_word
        made.append(" ".join(rng.sample(source, rng.randint(3, 8))))
    return made


def timed(calls: list[Callable[[], object]]) -> list[float]:
    """Each call's duration in milliseconds."""
    durations = []
    for call in calls:
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def nothing() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--max-index-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        bodies = write_articles(folder, args.articles, args.words, rng)
        started = time.perf_counter()
        base = KnowledgeBase(folder, clock=lambda: 0.0)  # a still clock: no change checks
        index_seconds = time.perf_counter() - started
        check_ms = min(timed([lambda: fingerprint(folder)] * 5))
        asked = queries(bodies, args.queries, rng)
        found = [0]

        def search(query: str) -> Callable[[], object]:
            return lambda: found.__setitem__(0, found[0] + bool(base.search(query)))

        searches = timed([search(q) for q in asked])
        floor = timed([nothing] * len(asked))

    print(f"knowledge base: {args.articles:,} articles of {args.words} words")
    print(f"  index (read, parse, tokenise, index): {index_seconds:.2f} s")
    print(f"  change check (fingerprint of the folder): {check_ms:.1f} ms")
    print(f"  {len(asked):,} searches, {found[0]:,} with hits:")
    for q in (0.5, 0.99):
        print(
            f"    p{round(q * 100)}: {percentile(searches, q):.3f} ms"
            f"   (floor, a no-op call: {percentile(floor, q):.4f} ms)"
        )
    if index_seconds > args.max_index_seconds:
        print(f"BELOW TARGET: the index took more than {args.max_index_seconds:g} s")
        raise SystemExit(1)
    print("PASS")


if __name__ == "__main__":
    main()
