"""What the models are asked, and how their answers are read back."""

import base64
import json
import re

from service_common.transcript_limits import clock

VISION_PROMPT = (
    "Describe this video frame for someone who cannot see it: the setting, people and objects, "
    "any visible text (quote it), and what seems to be happening. Two to four sentences."
)

TEXT_SYSTEM_PROMPT = (
    "You summarise videos from their transcript and from descriptions of frames taken at the given "
    "timestamps. Answer with JSON: {\"summary\": a paragraph of 3-5 sentences on the topic and overview "
    "of the video, \"key_points\": 3-7 short distinct points}. Use only what the material says."
)

SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "key_points"],
}


def vision_messages(jpeg: bytes) -> list[dict]:
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return [{"role": "user", "content": [
        {"type": "text", "text": VISION_PROMPT},
        {"type": "image_url", "image_url": {"url": data_url}},
    ]}]


def summary_material(video_info: dict | None, transcript: str | None, frames: list[dict],
                     analyses: list[str]) -> str:
    """The user message for the text model: title, transcript, then one line per frame."""
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
    "You summarise one part of a long video's transcript. Answer with JSON: {\"summary\": 2-4 sentences "
    "on what this part says, \"key_points\": up to 5 short distinct points}. Use only what the text says."
)


def _instructions(language: str | None, prompt: str | None) -> str:
    extra = f" Write in {language}." if language else ""
    if prompt:
        extra += f"\nThe user asks you to keep this in mind: {prompt}"
    return extra


def text_messages(material: str, language: str | None = None, prompt: str | None = None) -> list[dict]:
    system = TEXT_SYSTEM_PROMPT + _instructions(language, prompt)
    return [{"role": "system", "content": system}, {"role": "user", "content": material}]


def part_messages(title: str | None, part: str, language: str | None) -> list[dict]:
    heading = f"Title: {title}\n\n" if title else ""
    return [{"role": "system", "content": PART_SYSTEM_PROMPT + _instructions(language, None)},
            {"role": "user", "content": f"{heading}Transcript part:\n{part}"}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")


def parse_summary(content: str) -> tuple[str, list[str]]:
    """(summary, key points) from a JSON answer, or from prose with a bulleted list as a fallback."""
    cleaned = _FENCE.sub("", content.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start != -1 and end > start:
        try:
            data = json.loads(cleaned[start:end + 1])
            summary = data.get("summary")
            points = data.get("key_points")
            if isinstance(summary, str) and isinstance(points, list):
                return summary.strip(), [str(p).strip() for p in points if str(p).strip()]
        except (ValueError, AttributeError):
            pass
    prose, points = [], []
    for line in cleaned.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            points.append(bullet.group(1))
        elif line.strip() and not line.strip().lower().rstrip(":").endswith("key points"):
            prose.append(line.strip())
    return " ".join(prose).strip(), points
