"""Chapters: where the talk changes topic or the picture changes scene, each with a title and a summary.

Topic shifts are found TextTiling-style: TF-IDF blocks of timed transcript sentences on either side
of each gap are compared, and a gap whose similarity dips well below its neighbours' is a cut.
Scene changes are frames whose description (and quoted on-screen text) shares little with the
frame before.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from .material import Material
from .summarize import rank, seconds_of, stamp_of, tfidf
from .words import content_words

MAX_CHAPTERS = 12
# Sentences each side of a gap that are compared: a single sentence is too noisy a sample of a topic.
_BLOCK, _BLOCK_WORDS = 3, 60
# A dip in similarity shallower than this is the talk wandering, not a new topic.
_MIN_DEPTH = 0.3
# The TF-IDF matrix is dense: this bounds its memory for talks of many hours.
_MAX_MOMENTS = 1500
_QUOTED = re.compile(r"On-screen text: “([^”]+)”")
_MAX_TITLE_WORDS = 8


@dataclass(frozen=True)
class _Moment:
    seconds: int
    text: str
    spoken: bool


def _moments(material: Material) -> list[_Moment]:
    spoken = [_Moment(s, t, True) for t, c in zip(material.transcript, material.transcript_times, strict=False)
              if (s := seconds_of(c)) is not None]
    shown = [_Moment(s, t, False) for t, c in zip(material.frames, material.frame_times, strict=False)
             if (s := seconds_of(c)) is not None]
    return sorted(spoken + shown, key=lambda m: (m.seconds, not m.spoken))


def _bounded(spoken: list[_Moment]) -> list[_Moment]:
    """Consecutive sentences merged so that very long talks stay within _MAX_MOMENTS."""
    size = math.ceil(len(spoken) / _MAX_MOMENTS)
    if size <= 1:
        return spoken
    return [_Moment(spoken[i].seconds, " ".join(m.text for m in spoken[i:i + size]), True)
            for i in range(0, len(spoken), size)]


def _block_size(spoken: list[_Moment]) -> int:
    """Sentences per compared block: enough for about a paragraph of words, since caption lines are short."""
    words = sum(len(m.text.split()) for m in spoken) / max(1, len(spoken))
    return max(_BLOCK, math.ceil(_BLOCK_WORDS / max(1.0, words)))


def _peak(values: list[float], start: int, step: int) -> float:
    """The top of the slope that rises from values[start] in the direction of step."""
    i = start
    while 0 <= i + step < len(values) and values[i + step] >= values[i]:
        i += step
    return values[i]


def _topic_cuts(spoken: list[_Moment]) -> list[tuple[float, int]]:
    """(strength, index of the first sentence after the cut) for each gap where the similarity dips."""
    block = _block_size(spoken)
    if len(spoken) < 2 * _BLOCK:
        return []
    vectors = tfidf([content_words(m.text) for m in spoken])
    similarity = []
    for gap in range(1, len(spoken)):
        before = vectors[max(0, gap - block):gap].sum(axis=0)
        after = vectors[gap:gap + block].sum(axis=0)
        norm = float(np.linalg.norm(before) * np.linalg.norm(after))
        similarity.append(float(before @ after) / norm if norm else 0.0)
    cuts = []
    for i, value in enumerate(similarity):
        # Depth: how far the similarity falls from the nearest high point on each side of the gap.
        depth = (_peak(similarity, i, -1) - value) + (_peak(similarity, i, 1) - value)
        if depth > _MIN_DEPTH:
            cuts.append((depth, i + 1))
    return cuts


def _scene_cuts(shown: list[_Moment]) -> list[tuple[float, int]]:
    cuts = []
    for i in range(1, len(shown)):
        before, after = set(content_words(shown[i - 1].text)), set(content_words(shown[i].text))
        overlap = len(before & after) / len(before | after) if before | after else 1.0
        new_text = _QUOTED.search(shown[i].text) and \
            _QUOTED.findall(shown[i].text) != _QUOTED.findall(shown[i - 1].text)
        strength = (1 - overlap) + (0.5 if new_text else 0.0)
        if strength > 0.6:
            cuts.append((strength, i))
    return cuts


def _title(texts: list[str], frame_texts: list[str], context_title: str | None, spoken: bool) -> str:
    # Words shown big on screen (a title card, a slide heading) name a chapter best.
    for text in frame_texts:
        quoted = _QUOTED.search(text)
        if quoted:
            return " ".join(quoted.group(1).split(" / ")[0].split()[:_MAX_TITLE_WORDS])
    best = texts[rank(texts, context_title)[0]] if texts else ""
    if not spoken:
        # A frame description opens with what the picture is; the rest is measurements.
        best = re.split(r"(?<=[.!?])\s", best, maxsplit=1)[0]
    words = best.rstrip(".!?…").split()
    if len(words) <= _MAX_TITLE_WORDS or not spoken:
        return " ".join(words[:_MAX_TITLE_WORDS]) + (" …" if len(words) > _MAX_TITLE_WORDS else "")
    # A long sentence is named by its most frequent meaningful words, in the order they are said.
    counts: dict[str, int] = {}
    for word in (w for text in texts for w in content_words(text) if not w.isdigit()):
        counts[word] = counts.get(word, 0) + 1
    top = sorted(counts, key=lambda w: -counts[w])[:3]
    named = [w for w in dict.fromkeys(content_words(" ".join(texts))) if w in top]
    return ", ".join(named).capitalize() if named else " ".join(words[:_MAX_TITLE_WORDS]) + " …"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…", "”", '"', ")")) else text + "."


def chapters_of(material: Material) -> list[dict]:
    """[{"start": "MM:SS", "title", "summary"}] from 00:00 in time order; [] without timed material."""
    moments = _moments(material)
    spoken = [m for m in moments if m.spoken]
    # Speech without times cannot be placed in the video, and frames alone would misname its chapters.
    if not moments or (material.transcript or material.prose) and not spoken:
        return []
    end = max(seconds_of(material.duration) or 0, moments[-1].seconds)
    # About one chapter per two minutes, at least a few for a short video, never a chapter of seconds.
    most = min(MAX_CHAPTERS, max(3, end // 120))
    shortest = max(20, end / (2 * most))
    shown = [m for m in moments if not m.spoken]
    # Where there is speech, it decides; scene changes weigh less but can still cut a long talk.
    weight = 0.5 if len(spoken) >= 2 * _BLOCK else 1.0
    bounded = _bounded(spoken)
    candidates = [[s, bounded[i].seconds] for s, i in _topic_cuts(bounded)]
    topic_count = len(candidates)
    for strength, i in _scene_cuts(shown):
        at = shown[i].seconds
        near = [c for c in candidates[:topic_count] if abs(c[1] - at) < shortest]
        if near:
            # A new scene where the talk changes topic confirms the cut; speech says where it falls.
            min(near, key=lambda c: abs(c[1] - at))[0] += strength * weight
        else:
            candidates.append([strength * weight, at])
    starts = [0]
    for _, at in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if len(starts) >= most:
            break
        if at >= shortest and end - at >= shortest / 2 and all(abs(at - s) >= shortest for s in starts):
            starts.append(at)
    starts.sort()
    chapters = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else math.inf
        inside = [m for m in moments if start <= m.seconds < stop]
        spoken_texts = [m.text for m in inside if m.spoken]
        texts = spoken_texts or [m.text for m in inside]
        if not texts:
            continue
        best = texts[rank(texts, material.title)[0]]
        frame_texts = [m.text for m in inside if not m.spoken]
        title = _title(texts, frame_texts, material.title, bool(spoken_texts))
        chapters.append({"start": stamp_of(start), "title": title, "summary": _sentence(best)})
    if chapters:
        chapters[0]["start"] = stamp_of(0)
    return chapters
