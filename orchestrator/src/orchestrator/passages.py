"""A finished task's material as passages with times, and the ones that best match a question.

Passages: the transcript in windows of a few consecutive segments (a caption line alone is often half a
sentence), each chapter, each frame description at its timestamp. They are ranked with Okapi BM25, a
lexical method that needs no model and no index kept anywhere: a question is scored against the passages
of one task, read from the database when it is asked, so a long video costs a few milliseconds and the
text model is shown only the few passages that match.
"""

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from service_common.transcript_limits import clock

WINDOW_SEGMENTS = 3  # transcript segments in one passage, at most
WINDOW_CHARS = 600  # a window closes before it grows past this (a single longer segment is cut to it)
# Okapi BM25's usual constants: how soon repeating a term stops counting, how much length is normalised.
BM25_K1, BM25_B = 1.2, 0.75

PassageKind = Literal["transcript", "chapter", "frame"]


@dataclass(frozen=True)
class Passage:
    kind: PassageKind
    start: float
    end: float
    text: str

    def label(self) -> str:
        """"transcript 00:03–00:08", "frame 00:05": what the model reads before the passage's text."""
        when = clock(self.start) if self.end <= self.start else f"{clock(self.start)}–{clock(self.end)}"
        return f"{self.kind} {when}"


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def transcript_windows(segments: Iterable[dict], size: int = WINDOW_SEGMENTS,
                       max_chars: int = WINDOW_CHARS) -> list[Passage]:
    """Consecutive segments, `size` at most to a passage and under `max_chars` of text, in order."""
    windows: list[Passage] = []
    texts: list[str] = []
    start = end = 0.0

    def close() -> None:
        if texts:
            windows.append(Passage("transcript", start, end, " ".join(texts)))
            texts.clear()

    for segment in segments:
        text = _clean(segment.get("text", ""))[:max_chars]
        if not text:
            continue
        if texts and (len(texts) >= size or sum(map(len, texts)) + len(texts) + len(text) > max_chars):
            close()
        if not texts:
            start = float(segment["start"])
        texts.append(text)
        end = max(float(segment["end"]), start)
    close()
    return windows


def task_passages(segments: list[dict] | None, chapters: list[dict] | None,
                  frames: list[dict] | None) -> list[Passage]:
    """Every passage of a task: transcript windows, chapters ("title: summary"), frame descriptions."""
    passages = transcript_windows(segments or [])
    for chapter in chapters or []:
        text = _clean(": ".join(p for p in (chapter.get("title"), chapter.get("summary")) if p))
        if text:
            passages.append(Passage("chapter", float(chapter["start"]), float(chapter["end"]), text))
    for frame in frames or []:
        text = _clean(frame.get("analysis") or "")
        if text:
            timestamp = float(frame.get("timestamp") or 0.0)
            passages.append(Passage("frame", timestamp, timestamp, text))
    return passages


# Words too common to tell passages apart, and question words; a short list for English (BM25's idf
# already weighs down what is common in the task itself, in any language).
STOP_WORDS = frozenset({
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "me", "my", "of", "on", "or", "our", "said", "say", "says", "she", "so", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were",
    "what", "when", "where", "which", "who", "whom", "whose", "why", "will", "with", "would", "you", "your",
})
_WORD = re.compile(r"[^\W_]+")
# Scripts written without spaces between words: a run of them is compared by its overlapping pairs.
_UNSPACED = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+$")


def terms(text: str) -> list[str]:
    """The words of `text` that can match: lower-cased, stop words out, a plural "s" folded."""
    found = []
    for word in _WORD.findall(text.lower()):
        if _UNSPACED.match(word):
            found.extend(word[i:i + 2] for i in range(max(1, len(word) - 1)))
        elif word not in STOP_WORDS:
            found.append(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return found


def bm25_scores(query: list[str], documents: list[list[str]], k1: float = BM25_K1,
                b: float = BM25_B) -> list[float]:
    """Okapi BM25 of each document (a list of terms) for the query terms; 0 for one sharing none."""
    if not documents:
        return []
    count = len(documents)
    average = sum(map(len, documents)) / count or 1.0
    frequency = Counter(term for document in documents for term in set(document))
    idf = {t: math.log(1 + (count - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in set(query) if t in frequency}
    scores = []
    for document in documents:
        occurrences = Counter(document)
        norm = k1 * (1 - b + b * len(document) / average)
        scores.append(sum(weight * occurrences[t] * (k1 + 1) / (occurrences[t] + norm)
                          for t, weight in idf.items() if occurrences[t]))
    return scores


@dataclass(frozen=True)
class Match:
    passage: Passage
    score: float  # BM25; 0 for a passage chosen although it matched nothing (see best_passages)


def best_passages(question: str, passages: list[Passage], limit: int) -> list[Match]:
    """The `limit` passages that best match the question, in time order. When none shares a word with it
    ("what is this about?"), the chapters stand in for the video, or else passages spread over it."""
    scores = bm25_scores(terms(question), [terms(p.text) for p in passages])
    ranked = sorted((i for i, score in enumerate(scores) if score > 0), key=lambda i: (-scores[i], i))[:limit]
    if not ranked:
        chapters = [i for i, p in enumerate(passages) if p.kind == "chapter"]
        pool = chapters or [i for i, p in enumerate(passages) if p.kind == "transcript"] or list(range(len(passages)))
        step = max(1, math.ceil(len(pool) / limit))
        ranked = pool[::step][:limit]
    chosen = [Match(passages[i], scores[i]) for i in ranked]
    return sorted(chosen, key=lambda m: (m.passage.start, m.passage.end, m.passage.kind))
