"""A summary made from frame descriptions alone, for videos that have no transcript.

Frames of one video tend to be described in much the same words, so gluing descriptions together
repeats itself. Here descriptions are cut into sentences and near-duplicate sentences (by word
overlap, whatever wrote them) are grouped across frames: what most frames share is said once,
and what only some frames show is said with their timestamps.
"""

import re
from dataclasses import dataclass, field

from .material import Material, split_sentences
from .words import STOP_WORDS, content_words, listed

# Sentences whose word sets overlap this much (Jaccard) say the same thing.
SAME_OBSERVATION = 0.65
MAX_FRAMES = 200
_MEMBERS_COMPARED = 4
_SUMMARY_COMMON, _SUMMARY_CHANGES, _MAX_POINTS = 3, 3, 6
# Counts and negations are stop words to the ranker, yet "no faces" and "two faces" differ.
_QUANTITIES = frozenset({"no", "not", "none", "nor", "never", "without", "nothing", "nobody", "one", "two",
                         "three", "four", "five", "six", "seven", "eight", "nine", "ten", "several", "many",
                         "few", "all"})
# Everyday words that may start a sentence in lower case after a colon; names keep their capital.
_LEADS = (_QUANTITIES | STOP_WORDS) - {"i"}
_RAW_WORD = re.compile(r"[a-z]+(?:n't)?")
# Per-frame measurements such as "purple (33%)" vary between otherwise identical sentences.
_MEASURE = re.compile(r"\s*\(\s*~?\d+(?:[.,]\d+)?\s*%?\s*\)")
_ENDS = (".", "!", "?", "…")


@dataclass
class _Observation:
    first: int
    sentences: list[str] = field(default_factory=list)
    signatures: list[frozenset[str]] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)

    def text(self) -> str:
        """The member most like the others; measurements dropped where members disagree."""
        scores = [sum(_similarity(s, t) for t in self.signatures) for s in self.signatures]
        best = self.sentences[scores.index(max(scores))]
        if len({" ".join(s.lower().split()) for s in self.sentences}) > 1:
            best = _MEASURE.sub("", best)
        return best.strip()


def _stem(word: str) -> str:
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)]
    return word


def signature(sentence: str) -> frozenset[str]:
    """The words that decide whether two sentences say the same thing; bare numbers are left out."""
    words = {_stem(w) for w in content_words(sentence) if not w.isdigit()}
    raw = _RAW_WORD.findall(sentence.lower().replace("’", "'"))
    words |= {"not" if w.endswith("n't") else w for w in raw if w in _QUANTITIES or w.endswith("n't")}
    return frozenset(words)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _sampled(count: int) -> list[int]:
    if count <= MAX_FRAMES:
        return list(range(count))
    return sorted({round(i * (count - 1) / (MAX_FRAMES - 1)) for i in range(MAX_FRAMES)})


def group_observations(descriptions: list[str]) -> tuple[list[_Observation], int]:
    """Near-duplicate sentences across `descriptions`, each group with the frames it occurs in."""
    observations: list[_Observation] = []
    exact: dict[str, _Observation] = {}
    # Only groups sharing a word with a sentence can be like it, so only those are compared.
    by_word: dict[str, list[int]] = {}
    frames_with_content = 0
    for frame, description in enumerate(descriptions):
        seen = False
        for sentence in split_sentences([description]):
            if not content_words(sentence):
                continue
            seen = True
            sig, lowered = signature(sentence), " ".join(sentence.lower().split())
            best, best_score = exact.get(lowered), 0.0
            for index in sorted({i for word in sig for i in by_word.get(word, ())}) if best is None else ():
                observation = observations[index]
                score = max(_similarity(sig, m) for m in observation.signatures[:_MEMBERS_COMPARED])
                if score >= SAME_OBSERVATION and score > best_score:
                    best, best_score = observation, score
            if best is None:
                best = _Observation(first=len(observations))
                observations.append(best)
            if len(best.signatures) < _MEMBERS_COMPARED:
                for word in sig:
                    by_word.setdefault(word, []).append(best.first)
            exact.setdefault(lowered, best)
            best.sentences.append(sentence)
            best.signatures.append(sig)
            if frame not in best.frames:
                best.frames.append(frame)
        frames_with_content += seen
    return observations, frames_with_content


def _clock(text: str | None) -> str | None:
    """'00:20' → '0:20', '00:05:10' → '5:10', '1:02:03' unchanged; other text as given."""
    if not text or not re.fullmatch(r"\d+(?::\d{1,2}){1,2}", text.strip()):
        return text
    parts = text.strip().split(":")
    if len(parts) == 3 and int(parts[0]) == 0:
        parts = parts[1:]
    return ":".join([str(int(parts[0]))] + parts[1:])


def _when(observation: _Observation, times: list[str | None], total: int, lead: bool = False) -> str:
    """Where an observation was seen: timestamps when every frame of it has one, else a count.
    With `lead`, worded to open a sentence ("Around 00:05 and 00:12")."""
    stamps = [times[i] for i in observation.frames]
    count = len(stamps)
    if all(stamps) and count <= 4:
        return ("Around " if lead else "") + listed(stamps)
    if all(stamps):
        where = f"{count} frames between {stamps[0]} and {stamps[-1]}"
    else:
        where = "one frame" if count == 1 else f"{count} of {total} frames"
    return "In " + where if lead else where


def _shared_label(observation: _Observation, total: int) -> str:
    if len(observation.frames) == total:
        return "both frames" if total == 2 else f"all {total} frames"
    return "most frames"


def _lowered_start(text: str) -> str:
    """Lower-cases a leading everyday word ("A", "No", "He") so the sentence can follow a colon."""
    first = text.split(" ", 1)[0]
    if first.lower() in _LEADS and (len(first) == 1 or first[1:].islower()):
        return text[:1].lower() + text[1:]
    return text


def _as_sentence(text: str) -> str:
    return text if text.endswith(_ENDS) else text + "."


def _point(text: str, where: str | None) -> str:
    text = text[:1].upper() + text[1:]
    if not where:
        return _as_sentence(text)
    return f"{text.rstrip('.')} ({where})."


def _centrality(observations: list[_Observation]) -> list[float]:
    """How much each observation has in common with the rest, weighted by how often they occur."""
    signatures = [signature(o.text()) for o in observations]
    by_word: dict[str, set[int]] = {}
    for i, sig in enumerate(signatures):
        for word in sig:
            by_word.setdefault(word, set()).add(i)
    return [sum(len(observations[j].frames) * _similarity(sig, signatures[j])
                for j in sorted(set().union(*(by_word[w] for w in sig)) - {i}))
            for i, sig in enumerate(signatures)]


def _pick_changes(changes: list[_Observation], limit: int) -> list[_Observation]:
    """The most telling changes, preferring ones that bring in frames not covered yet."""
    chosen: list[_Observation] = []
    covered: set[int] = set()
    for spread in (True, False):
        for observation in changes:
            if len(chosen) >= limit:
                return chosen
            if observation in chosen or (spread and covered.issuperset(observation.frames)):
                continue
            chosen.append(observation)
            covered.update(observation.frames)
    return chosen


def summarise_frames(material: Material) -> tuple[str, list[str]]:
    """(summary, key points) from `material.frames` alone."""
    picked = _sampled(len(material.frames))
    descriptions = [material.frames[i] for i in picked]
    times = [material.frame_times[i] if i < len(material.frame_times) else None for i in picked]
    observations, total = group_observations(descriptions)
    shared = [o for o in observations if total > 1 and 2 * len(o.frames) > total]
    changes = [o for o in observations if o not in shared]
    centrality = dict(zip((o.first for o in observations), _centrality(observations), strict=True))
    shared.sort(key=lambda o: (-len(o.frames), o.first))
    changes.sort(key=lambda o: (-len(o.frames), -round(centrality[o.first], 9), o.first))

    subject = f"“{material.title}”" if material.title else "This video"
    duration = _clock(material.duration)
    noun = "frame description" if total == 1 else "frame descriptions"
    if len(picked) < len(material.frames):  # very long material is read at evenly spaced frames
        noun = f"of its {len(material.frames)} {noun}"
    length = f" ({duration})" if duration else ""
    parts = [f"{subject}{length} has no transcript, so this summary comes from {total} {noun}."]
    in_summary = sorted(shared[:_SUMMARY_COMMON], key=lambda o: o.first)
    for label in dict.fromkeys(_shared_label(o, total) for o in in_summary):
        texts = [o.text() for o in in_summary if _shared_label(o, total) == label]
        parts.append(f"In {label}: {_lowered_start(_as_sentence(texts[0]))}")
        parts += [_as_sentence(t) for t in texts[1:]]
    previous = None
    for observation in sorted(_pick_changes(changes, _SUMMARY_CHANGES), key=lambda o: (o.frames, o.first)):
        # A lone frame needs no "where" unless it has a timestamp to give.
        where = _when(observation, times, total, lead=True) if total > 1 or times[observation.frames[0]] else None
        text = _as_sentence(observation.text())
        parts.append(f"{where}: {_lowered_start(text)}" if where and observation.frames != previous else text)
        previous = observation.frames

    changes_in_points = min(len(changes), max(2, _MAX_POINTS - len(shared)))
    points_of = _pick_changes(changes, changes_in_points)
    shared_points = sorted(shared[: _MAX_POINTS - len(points_of)], key=lambda o: o.first)
    points = [_point(o.text(), _shared_label(o, total)) for o in shared_points]
    points += [_point(o.text(), _when(o, times, total) if total > 1 else None)
               for o in sorted(points_of, key=lambda o: (o.frames, o.first))]
    return " ".join(parts), points
