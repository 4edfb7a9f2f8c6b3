"""What kind of picture a frame is, and what changed from the frame before it."""

import cv2
import numpy as np

from .words import listed

SLIDE, NATURAL, BLANK = "slide", "natural", "blank"
SCENE_WORDS = {
    SLIDE: "a text-heavy slide or screen recording",
    NATURAL: "a natural scene",
    BLANK: "a blank frame or transition",
}
_THUMB = (32, 18)


def scene_kind(*, blank: bool, text_lines: int, text_coverage: float, ocr_words: int, flat_fraction: float,
               edge_density: float) -> str:
    """Blank, text-heavy (slides, documents, screen captures) or natural (camera footage)."""
    if blank:
        return BLANK
    if text_coverage >= 0.04 or ocr_words >= 8:
        return SLIDE
    # Without readable text, several text-like rows on a mostly flat background still mean a slide.
    if text_lines >= 3 and flat_fraction >= 0.5:
        return SLIDE
    if text_lines >= 2 and flat_fraction >= 0.75 and edge_density < 0.08:
        return SLIDE
    return NATURAL


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A tiny grey copy for comparing frames: cheap and blind to compression noise."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def _quoted_words(words: list[str], limit: int = 8) -> str:
    shown = " ".join(words[:limit]) + (" …" if len(words) > limit else "")
    return f"“{shown}”"


def describe_change(previous, current, difference: float | None = None) -> str:
    """One sentence comparing two ImageAnalysis results; `difference` is the mean absolute difference
    of their thumbnails (0-255), when known."""
    parts: list[str] = []
    if difference is not None:
        if difference < 4:
            parts.append("nearly the same picture")
        elif difference > 40:
            parts.append("a different shot")
    if previous.scene_kind != current.scene_kind and current.scene_kind:
        parts.append(f"now {SCENE_WORDS[current.scene_kind]}")
    before_words = [w for line in previous.ocr_lines for w in line.split()]
    after_words = [w for line in current.ocr_lines for w in line.split()]
    seen_before = {w.lower() for w in before_words}
    seen_after = {w.lower() for w in after_words}
    new = list(dict.fromkeys(w for w in after_words if w.lower() not in seen_before))
    gone = [w for w in before_words if w.lower() not in seen_after]
    if new:
        parts.append(f"new on-screen text {_quoted_words(new)}")
    elif gone and not after_words:
        parts.append("the on-screen text is gone")
    elif after_words and not new and not gone:
        parts.append("the same on-screen text")
    before_main = previous.colours[0].name if previous.colours else None
    after_main = current.colours[0].name if current.colours else None
    if before_main and after_main and before_main != after_main:
        parts.append(f"colours shift from {before_main} to {after_main}")
    if previous.brightness != current.brightness and previous.mean_lightness and \
            abs(previous.mean_lightness - current.mean_lightness) >= 10:
        darker = current.mean_lightness < previous.mean_lightness
        parts.append(f"{'darker' if darker else 'brighter'} ({current.brightness})")
    before_faces, after_faces = len(previous.face_positions), len(current.face_positions)
    if after_faces > before_faces:
        parts.append("a face appears" if after_faces - before_faces == 1 else f"{after_faces - before_faces} "
                     "faces appear")
    elif after_faces < before_faces:
        parts.append("a face leaves" if after_faces == 0 and before_faces == 1 else "faces leave"
                     if after_faces == 0 else "fewer faces")
    if not parts:
        parts.append("little visible change")
    return f"Compared with the previous frame: {listed(parts)}."
