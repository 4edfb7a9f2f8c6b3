"""Extractive summarisation: TextRank over TF-IDF cosine similarity between sentences."""

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .frames import summarise_frames
from .material import Material, parse_material
from .words import content_words

_MAX_UNITS = 3000
_MAX_TERMS = 4000
EMPTY_SUMMARY = "Nothing could be summarised: the material contained no transcript, text or frame descriptions."


@dataclass(frozen=True)
class Summary:
    summary: str
    key_points: list[str]
    # [{"start": "MM:SS", "title", "summary"}], only in the JSON answer; [] when nothing is timed.
    chapters: list[dict] = field(default_factory=list)
    # What the model could not do as asked, e.g. write in another language.
    notes: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        text = self.summary
        if self.key_points:
            text += "\n\nKey points:\n" + "\n".join(f"- {point}" for point in self.key_points)
        if self.notes:
            text += "\n\nNotes:\n" + "\n".join(f"- {note}" for note in self.notes)
        return text

    def as_document(self) -> dict:
        document = {"summary": self.summary, "key_points": list(self.key_points)}
        if self.chapters:
            document["chapters"] = [dict(chapter) for chapter in self.chapters]
        if self.notes:
            document["notes"] = list(self.notes)
        return document


def tfidf(units: list[list[str]]) -> np.ndarray:
    df = Counter(term for words in units for term in set(words))
    # Rare-term cut-off keeps the matrix bounded for very long material.
    vocab = {t: i for i, (t, _) in enumerate(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:_MAX_TERMS])}
    matrix = np.zeros((len(units), len(vocab)), dtype=np.float64)
    n = len(units)
    for row, words in enumerate(units):
        for term, count in Counter(words).items():
            if term in vocab:
                matrix[row, vocab[term]] = count * (math.log((1 + n) / (1 + df[term])) + 1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _textrank(similarity: np.ndarray, damping: float = 0.85) -> np.ndarray:
    n = len(similarity)
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    # A sentence sharing no word with any other links to all equally rather than leaking rank.
    transition = np.where(sums > 0, weights / np.where(sums > 0, sums, 1), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(100):
        updated = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < 1e-10:
            return updated
        scores = updated
    return scores


def rank(sentences: list[str], title: str | None = None) -> list[int]:
    """Indices of `sentences`, most central first, near-duplicates removed."""
    if not sentences:
        return []
    words = [content_words(s) for s in sentences]
    vectors = tfidf(words)
    similarity = vectors @ vectors.T
    scores = _textrank(similarity) if len(sentences) > 1 else np.ones(1)
    title_words = set(content_words(title or ""))
    for i, sentence_words in enumerate(words):
        if title_words:
            scores[i] *= 1 + 0.5 * len(title_words & set(sentence_words)) / len(title_words)
        if len(sentence_words) < 3:  # greetings and fillers are rarely the point
            scores[i] *= 0.3
    order = sorted(range(len(sentences)), key=lambda i: (-round(float(scores[i]), 12), i))
    kept: list[int] = []
    for i in order:
        if not words[i] and kept:
            continue
        if any(similarity[i, j] > 0.8 or sentences[i].lower() == sentences[j].lower() for j in kept):
            continue
        kept.append(i)
    return kept


def summarise_material(material: Material) -> Summary:
    primary = (material.transcript + material.prose)[:_MAX_UNITS]
    frames = material.frames[:_MAX_UNITS]
    units = primary + frames
    if not any(content_words(u) for u in units):
        return Summary(EMPTY_SUMMARY, [])
    if not any(content_words(u) for u in primary):
        return Summary(*summarise_frames(material))
    # Speech carries what a video is about; frame descriptions only fill in when speech is scarce.
    ranked = rank(primary, material.title)
    primary_words = [set(content_words(primary[i])) for i in ranked]
    for j in rank(frames, material.title):
        frame_words = set(content_words(frames[j]))
        if not any(frame_words and len(frame_words & w) / len(frame_words | w) > 0.7 for w in primary_words):
            ranked.append(len(primary) + j)
    total = len(units)
    summary_count = 2 if total <= 6 else 3 if total <= 15 else 4
    point_count = min(6, max(3, math.ceil(total / 5)))
    chosen = sorted(ranked[:summary_count])
    paragraph = " ".join(_as_sentence(units[i]) for i in chosen)
    if material.title:
        paragraph = f"“{material.title}” — {paragraph}"
    spoken = (material.transcript_times + [None] * len(material.transcript))[:len(material.transcript)]
    shown = (material.frame_times + [None] * len(frames))[:len(frames)]
    times = (spoken + [None] * len(material.prose))[:len(primary)] + shown
    # Points with a time read in the order they happen; the rest follow in the order they came.
    order = sorted(ranked[:point_count],
                   key=lambda i: (seconds_of(times[i]) is None, seconds_of(times[i]) or 0, i))
    points = [f"[{stamp_of(times[i])}] {_capitalised(units[i])}" if times[i] else _capitalised(units[i])
              for i in order]
    return Summary(paragraph, points)


def seconds_of(clock: str | None) -> int | None:
    if not clock or not all(part.isdigit() for part in clock.split(":")):
        return None
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total


def stamp_of(clock: str | int) -> str:
    """'0:05' → '00:05', '1:02:03' kept with its hours; a number of seconds is written the same way."""
    seconds = clock if isinstance(clock, int) else seconds_of(clock)
    if seconds is None:
        return str(clock)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _as_sentence(text: str) -> str:
    text = _capitalised(text)
    return text if text.endswith((".", "!", "?", "…", '"', "”", ")")) else text + "."


def summarise(text: str) -> Summary:
    return summarise_material(parse_material(text or ""))
