"""Cutting a soundtrack into overlapping windows for speech-to-text, and joining their segments again.

A window ends in the middle of whatever is being said, so its last words come out cut or guessed.
Adjacent windows therefore overlap, and each border gets a cut point in the middle of the overlap:
both windows hear the words near it whole, and each window keeps only what lies on its side.
With word timings (verbose_json with word timestamps) that is exact: a window keeps the words whose
midpoint lies between its two cut points, and a segment across a cut point is trimmed to those words.
Without them a window keeps the segments whose midpoint lies on its side, give or take a margin of a
quarter of the overlap (a model times the same words a little differently in two hearings); where
two kept segments then cover the same time they are the same words heard twice, and the one its
window heard whole (not cut by the window's edge) is kept, else the first.
"""

import re
from dataclasses import dataclass

from service_common.contracts import TranscriptSegment

# How close to a window's edge a segment's end must come to count as cut by that edge.
EDGE_S = 0.25


@dataclass(frozen=True)
class AudioWindow:
    start: float
    length: float
    keep_from: float  # cut points on the video's clock: this window's segments count in [keep_from, keep_until)
    keep_until: float
    margin: float  # how far past its cut points a segment's midpoint may lie and still be a candidate

    @property
    def end(self) -> float:
        return self.start + self.length


def plan_windows(duration: float, window_s: float, overlap_s: float) -> list[AudioWindow]:
    """Windows of at most `window_s` covering [0, duration), each starting `overlap_s` before the
    previous one ends (the overlap is capped at a quarter of a window, so windows keep moving)."""
    overlap = min(max(overlap_s, 0.0), window_s / 4)
    step = window_s - overlap
    starts = [0.0]
    while starts[-1] + window_s < duration - 0.05:  # no sliver of a window at the very end
        starts.append(starts[-1] + step)
    ends = [min(start + window_s, duration) for start in starts]
    cuts = [0.0] + [(starts[i + 1] + ends[i]) / 2 for i in range(len(starts) - 1)] + [float("inf")]
    return [AudioWindow(start, end - start, cuts[i], cuts[i + 1], overlap / 4)
            for i, (start, end) in enumerate(zip(starts, ends, strict=True))]


@dataclass(frozen=True)
class HeardSegment:
    segment: TranscriptSegment  # on the video's clock
    words: tuple[TranscriptSegment, ...] = ()  # its words and their times, when the server gives them
    no_speech: float | None = None  # the model's no_speech_prob, when it gives one


@dataclass(frozen=True)
class _Candidate:
    segment: TranscriptSegment
    clipped: bool  # touches an edge of its window that another window covers


def merge_windows(windows: list[AudioWindow], heard: list[list[HeardSegment]]) -> list[TranscriptSegment]:
    """One transcript from each window's segments, nothing doubled or dropped at a border."""
    candidates = []
    for index, (window, segments) in enumerate(zip(windows, heard, strict=True)):
        for one in segments:
            if one.words:
                trimmed = _words_on_its_side(window, one)
                if trimmed is not None:
                    candidates.append(_Candidate(trimmed, False))
                continue
            segment = one.segment
            if window.keep_from - window.margin <= _middle(segment) < window.keep_until + window.margin:
                clipped = ((index > 0 and segment.start <= window.start + EDGE_S)
                           or (index < len(windows) - 1 and segment.end >= window.end - EDGE_S))
                candidates.append(_Candidate(segment, clipped))
    candidates.sort(key=lambda c: (c.segment.start, c.segment.end))
    kept: list[_Candidate] = []
    for candidate in candidates:
        if kept and _same_stretch(kept[-1].segment, candidate.segment):
            if kept[-1].clipped and not candidate.clipped:
                kept[-1] = candidate
            continue
        kept.append(candidate)
    return [c.segment for c in kept]


def _middle(segment: TranscriptSegment) -> float:
    return (segment.start + segment.end) / 2


def _words_on_its_side(window: AudioWindow, heard: HeardSegment) -> TranscriptSegment | None:
    """The segment as far as its words lie between the window's cut points; None when none do."""
    words = [w for w in heard.words if window.keep_from <= _middle(w) < window.keep_until]
    if len(words) == len(heard.words):
        return heard.segment
    if not words:
        return None
    return TranscriptSegment(start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words))


def _same_stretch(first: TranscriptSegment, second: TranscriptSegment) -> bool:
    """Two segments sharing more than half of the shorter one's time are the same words heard twice."""
    shared = min(first.end, second.end) - max(first.start, second.start)
    shorter = min(first.end - first.start, second.end - second.start)
    return shared > 0 and shared > shorter / 2


# What Whisper-style models are known to say over silence, music or noise (their training data's
# credits and sign-offs); compared lower-case, without punctuation.
KNOWN_HALLUCINATIONS = frozenset({
    "thank you", "thank you for watching", "thanks for watching", "thank you very much",
    "thank you so much for watching", "please subscribe", "subscribe to my channel", "bye", "you",
    "subtitles by the amaraorg community", "transcription by castingwords", "music", "applause",
})
_NOT_WORDS = re.compile(r"[^\w\s]+")
# Only a marker for sound, no words: "[Music]", "(applause)", "♪ ♪".
_SOUND_MARKER = re.compile(r"^\s*(?:[\[(][^\])]*[\])]|[♪♫\s])+\s*$")
NO_SPEECH_PROB = 0.6


def _plain(text: str) -> str:
    return " ".join(_NOT_WORDS.sub("", text).lower().split())


def drop_doubted(segments: list[HeardSegment]) -> list[HeardSegment]:
    """One window's segments less sound markers, and less known hallucinations the model itself
    doubts were speech (no_speech_prob high)."""
    return [one for one in segments
            if not _SOUND_MARKER.match(one.segment.text)
            and not (_plain(one.segment.text) in KNOWN_HALLUCINATIONS
                     and one.no_speech is not None and one.no_speech >= NO_SPEECH_PROB)]


def only_hallucinations(segments: list[TranscriptSegment]) -> bool:
    """True when everything heard is what models say over silence or music: nothing was said."""
    return all(_plain(s.text) in KNOWN_HALLUCINATIONS for s in segments)
