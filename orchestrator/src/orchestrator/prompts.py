"""What the models are asked, and how their answers are read back."""

import base64
import json
import re
from dataclasses import dataclass, field

from service_common.transcript_limits import clock

MAX_MODEL_NOTES = 5
MAX_MODEL_NOTE_CHARS = 300

VISION_PROMPT = (
    "Describe this video frame for someone who cannot see it: the setting, people and objects, "
    "any visible text (quote it), and what seems to be happening. Two to four sentences."
)

TEXT_SYSTEM_PROMPT = (
    "You summarise videos from their transcript (lines start with their time, [MM:SS] or [H:MM:SS], when known; "
    "a long one comes as summaries of its parts, each with its time range) and from descriptions of "
    "frames taken at the given times. Answer with JSON: {\"summary\": a paragraph of 3-5 sentences on the "
    "topic and overview of the video, \"key_points\": 3-7 short distinct points, each starting with the "
    "time it is about as \"[MM:SS] \", \"chapters\": the video's parts in time order, the first at "
    "\"00:00\", each {\"start\": \"MM:SS\", \"title\": a few words, \"summary\": one sentence}, "
    "\"notes\": a list, empty unless you could not do something asked (say what)}. Use only what the "
    "material says."
)

SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
        "chapters": {"type": "array", "items": {
            "type": "object",
            "properties": {"start": {"type": "string"}, "title": {"type": "string"},
                           "summary": {"type": "string"}},
            "required": ["start", "title", "summary"],
        }},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "key_points"],
}


@dataclass
class TextAnswer:
    summary: str
    key_points: list[str]
    chapters: object = None  # as the model gave them: see chapters.repair_chapters
    notes: list[str] = field(default_factory=list)


def vision_messages(jpeg: bytes) -> list[dict]:
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return [{"role": "user", "content": [
        {"type": "text", "text": VISION_PROMPT},
        {"type": "image_url", "image_url": {"url": data_url}},
    ]}]


def timed_lines(segments: list[dict]) -> list[str]:
    """One "[MM:SS] text" line per transcript segment, so the model can say when things are said (a cue's
    own line breaks are joined: one line is one segment)."""
    return [f"[{clock(s['start'])}] {' '.join(s['text'].split())}" for s in segments]


def summary_material(video_info: dict | None, transcript: str | None, frames: list[dict],
                     analyses: list[str]) -> str:
    """The user message for the text model: title, transcript (its timed lines, or the summaries of its
    parts with their time ranges, or its bare text when it has no timings), then one line per frame."""
    info = video_info or {}
    lines = []
    if info.get("title"):
        lines.append(f"Title: {info['title']}")
    if info.get("channel"):
        lines.append(f"Channel: {info['channel']}")
    if info.get("duration"):
        lines.append(f"Duration: {clock(info['duration'])}")
    if transcript:
        lines += ["", "Transcript:", transcript]  # already cut to fit: see summarize.transcript_parts
    if analyses:
        lines += ["", "Frames:"]
        for frame, analysis in zip(frames, analyses, strict=False):
            lines.append(f"[{clock(frame.get('timestamp', 0))}] {analysis}")
    return "\n".join(lines)


PART_SYSTEM_PROMPT = (
    "You summarise one part of a long video's transcript (lines start with their time when known). Answer with JSON: "
    "{\"summary\": 2-4 sentences on what this part says, in the order it says it, \"key_points\": up to 5 "
    "short distinct points}. Use only what the text says."
)


def _instructions(language: str | None, prompt: str | None, parts_of_the_answer: str = "") -> str:
    extra = f" Write {parts_of_the_answer or 'your answer'} in {language}." if language else ""
    if prompt:
        applies = f" (in {parts_of_the_answer})" if parts_of_the_answer else ""
        extra += f"\nThe user asks you to keep this in mind{applies}: {prompt}"
    return extra


def text_messages(material: str, language: str | None = None, prompt: str | None = None) -> list[dict]:
    system = TEXT_SYSTEM_PROMPT + _instructions(language, prompt, "the summary, the key points and the chapters")
    return [{"role": "system", "content": system}, {"role": "user", "content": material}]


def part_messages(title: str | None, part: str, language: str | None) -> list[dict]:
    heading = f"Title: {title}\n\n" if title else ""
    return [{"role": "system", "content": PART_SYSTEM_PROMPT + _instructions(language, None)},
            {"role": "user", "content": f"{heading}Transcript part:\n{part}"}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")


def parse_answer(content: str) -> TextAnswer:
    """The text model's answer from its JSON, or from prose with a bulleted list as a fallback."""
    cleaned = _FENCE.sub("", content.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start != -1 and end > start:
        try:
            data = json.loads(cleaned[start:end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("summary"), str) and isinstance(data.get("key_points"),
                                                                                          list):
            return TextAnswer(data["summary"].strip(), [str(p).strip() for p in data["key_points"] if str(p).strip()],
                              data.get("chapters"), _model_notes(data.get("notes")))
    prose, points = [], []
    for line in cleaned.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            points.append(bullet.group(1))
        elif line.strip() and not line.strip().lower().rstrip(":").endswith("key points"):
            prose.append(line.strip())
    return TextAnswer(" ".join(prose).strip(), points)


def _model_notes(notes: object) -> list[str]:
    """What the model said it could not do, a few short lines; anything else it put there is dropped."""
    if not isinstance(notes, list):
        return []
    kept = [n.strip()[:MAX_MODEL_NOTE_CHARS] for n in notes if isinstance(n, str) and n.strip()]
    return kept[:MAX_MODEL_NOTES]
