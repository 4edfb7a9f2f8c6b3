"""Classical image analysis (OpenCV + numpy) that answers like a captioning model, in English."""

import logging
import threading
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .colors import NamedColour, dominant_colours
from .ocr import OcrResult, TextReader
from .pictures import fit_within
from .scene import BLANK, SCENE_WORDS, scene_kind

log = logging.getLogger(__name__)

# Measures are taken at a fixed working size so thresholds mean the same for a 4K frame and a thumbnail.
WORK_SIDE = 640
# The side of the tiny copy on which big lettering is looked for.
LARGE_TEXT_SIDE = 200
_NUMBERS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")


@dataclass
class ImageAnalysis:
    width: int
    height: int
    orientation: str
    brightness: str
    contrast: str
    sharpness: str
    blank: bool
    text_likely: bool
    detail: str
    colours: list[NamedColour]
    face_positions: list[str] = field(default_factory=list)
    mean_lightness: float = 0.0
    luminance_std: float = 0.0
    laplacian_variance: float = 0.0
    edge_density: float = 0.0
    flat_fraction: float = 0.0
    text_lines: int = 0
    large_text_lines: int = 0
    ocr_lines: list[str] = field(default_factory=list)
    ocr_text: str = ""
    text_coverage: float = 0.0
    scene_kind: str = ""


def _label(value: float, bands: tuple[tuple[float, str], ...], last: str) -> str:
    return next((name for bound, name in bands if value < bound), last)


def _position(cx: float, cy: float) -> str:
    col = "left" if cx < 0.38 else "right" if cx > 0.62 else "centre"
    row = "top" if cy < 0.38 else "bottom" if cy > 0.62 else "middle"
    if row == "middle":
        return "in the centre" if col == "centre" else f"on the {col}"
    return f"at the {row}" if col == "centre" else f"at the {row} {col}"


def _text_lines(gray: np.ndarray, min_height: int = 6, max_height_share: float = 0.12,
                min_width: int = 20, min_join: int = 9) -> int:
    """Counts wide, short clusters of high-contrast strokes, the signature of printed text lines."""
    height, width = gray.shape
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    strokes = (gradient > 60).astype(np.uint8)
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(
        cv2.MORPH_RECT, (max(min_join, width // 50), 1)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = 0
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (min_height <= h <= max(min_height + 2, height * max_height_share) and w >= max(min_width, 2.5 * h)):
            continue
        # Letters are strokes with gaps: a solid bar or a lone edge is too full or too empty.
        fill = float(strokes[y:y + h, x:x + w].mean())
        if 0.2 <= fill <= 0.8:
            lines += 1
    return lines


def _large_text_lines(gray: np.ndarray) -> int:
    """Lines of big lettering (a title card, a slide heading, a big caption).

    At the working size a big letter's outline is too sparse and too tall to pass as a text line;
    shrunk to a few hundred pixels the same word looks like an ordinary line of print, so the
    line test is run again there with room for taller lines. The tiny copy keeps it to well under a
    millisecond.
    """
    if max(gray.shape) <= LARGE_TEXT_SIDE:
        return 0
    tiny = fit_within(gray, LARGE_TEXT_SIDE)
    return _text_lines(tiny, min_height=8, max_height_share=0.45, min_width=24, min_join=LARGE_TEXT_SIDE // 25)


def _edge_sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian, taken around edges when there are any.

    Over the whole frame, a slide with a few crisp edges scores as low as a blurred photo,
    because flat areas dilute the variance; around its edges it scores as high as it looks.
    """
    laplacian = cv2.Laplacian(gray, cv2.CV_64F)
    near_edges = cv2.dilate(cv2.Canny(gray, 50, 150), np.ones((5, 5), np.uint8)) > 0
    if near_edges.mean() < 0.002:
        return float(laplacian.var())
    return float(laplacian[near_edges].var())


class VisionAnalyzer:
    """Holds the face detector; one per app, shared by request threads."""

    def __init__(self, cascade_path: str | None = None, reader: TextReader | None = None):
        # Reading text is the slow part of an analysis; it runs only on frames that look text-like,
        # whether the text is small print or big lettering.
        self.reader = reader if reader is not None else TextReader()
        path = cascade_path or cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._faces = cv2.CascadeClassifier(path)
        if self._faces.empty():
            log.warning("face cascade %s could not be loaded; face detection is off", path)
        # CascadeClassifier keeps scratch state per call and is not safe to share between threads.
        self._lock = threading.Lock()

    def _detect_faces(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        if self._faces.empty() or min(gray.shape) < 48:
            return []
        side = max(24, min(gray.shape) // 20)
        with self._lock:
            found = self._faces.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5,
                                                 minSize=(side, side))
        return sorted((tuple(int(v) for v in box) for box in found), key=lambda b: (b[0], b[1]))

    def analyse(self, image: np.ndarray) -> ImageAnalysis:
        height, width = image.shape[:2]
        work = fit_within(image, WORK_SIDE)
        gray = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)
        std = float(gray.std())
        # Perceptual lightness (CIELAB L, 0-100): pure blue is not "dark" the way black is.
        lightness = float(cv2.cvtColor(work, cv2.COLOR_BGR2Lab)[:, :, 0].mean()) * 100 / 255
        laplacian = _edge_sharpness(gray)
        edges = float((cv2.Canny(gray, 100, 200) > 0).mean())
        magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
        flat = float((magnitude < 8).mean())
        blank = std < 4 and float(work.reshape(-1, 3).std(axis=0).max()) < 6
        text_lines = 0 if blank else _text_lines(gray)
        large_text_lines = 0 if blank or text_lines else _large_text_lines(gray)
        faces = [] if blank else self._detect_faces(gray)
        gh, gw = gray.shape
        positions = [_position((x + w / 2) / gw, (y + h / 2) / gh) for x, y, w, h in faces]
        if faces and max(w for _, _, w, _ in faces) > 0.3 * gw:
            positions = [p + " (a close-up)" if i == 0 else p for i, p in enumerate(positions)]
        ocr = self.reader.read(image) if text_lines or large_text_lines else OcrResult()
        if edges < 0.03 and flat > 0.6:
            detail = "little"
        elif edges > 0.15:
            detail = "a lot of"
        else:
            detail = "some"
        return ImageAnalysis(
            width=width, height=height,
            orientation="square" if abs(width - height) <= 0.05 * max(width, height)
            else "landscape" if width > height else "portrait",
            brightness=_label(lightness, ((15, "very dark"), (30, "dark"), (42, "dim"), (62, "well-lit"),
                                          (80, "bright")), "very bright"),
            contrast=_label(std, ((20, "low"), (55, "moderate")), "high"),
            sharpness="uniform" if blank else _label(laplacian, ((50, "blurry"), (200, "slightly soft")),
                                                      "sharp"),
            blank=blank, text_likely=text_lines >= 2, detail=detail,
            colours=dominant_colours(work), face_positions=positions,
            mean_lightness=round(lightness, 1), luminance_std=round(std, 1),
            laplacian_variance=round(laplacian, 1), edge_density=round(edges, 4),
            flat_fraction=round(flat, 3), text_lines=text_lines, large_text_lines=large_text_lines,
            ocr_lines=ocr.lines, ocr_text=ocr.text, text_coverage=ocr.coverage,
            scene_kind=scene_kind(blank=blank, text_lines=text_lines, text_coverage=ocr.coverage,
                                  ocr_words=sum(len(line.split()) for line in ocr.lines),
                                  flat_fraction=flat, edge_density=edges),
        )


def _faces_sentence(positions: list[str]) -> str:
    count = len(positions)
    word = _NUMBERS[count] if count < len(_NUMBERS) else str(count)
    if count == 0:
        return "No faces detected."
    if count == 1:
        return f"One face detected, {positions[0]}."
    if count <= 4:
        return f"{word} faces detected: {', '.join(positions[:-1])} and {positions[-1]}."
    return f"{word} faces detected, perhaps a group or an audience."


def describe(analysis: ImageAnalysis) -> str:
    a = analysis
    size = f"{a.width}×{a.height} {a.orientation}"
    colours = ", ".join(f"{c.name} ({c.percent}%)" for c in a.colours[:4])
    if a.blank:
        main = a.colours[0].name if a.colours else "flat"
        kind = "black screen" if main == "black" else "blank frame"
        return (f"A nearly uniform {main} {size} frame with no visible content; "
                f"probably a {kind} or a transition. Dominant colour: {colours}.")
    adjectives = [a.brightness] + ([f"{a.contrast}-contrast"] if a.contrast != "moderate" else []) + [a.sharpness]
    sentences = [f"A {', '.join(adjectives)} {size} frame."]
    label = "Dominant colours" if len(a.colours) > 1 else "Dominant colour"
    sentences.append(f"{label}: {colours}.")
    sentences.append(_faces_sentence(a.face_positions))
    if a.scene_kind and a.scene_kind != BLANK:
        sentences.append(f"Scene: {SCENE_WORDS[a.scene_kind]}.")
    if a.ocr_text:
        sentences.append(f"On-screen text: “{a.ocr_text}”.")
    elif a.text_likely:
        sentences.append("Several rows of small high-contrast horizontal strokes: it likely contains text "
                         "or a slide.")
    if a.detail == "little":
        sentences.append("Little fine detail; large flat areas suggest a slide or graphic.")
    elif a.detail == "a lot of":
        sentences.append("A lot of fine detail and texture.")
    return " ".join(sentences)


def analysis_document(analysis: ImageAnalysis) -> dict:
    """The JSON answer to a vision request that asked for response_format json."""
    a = asdict(analysis)
    return {
        "description": describe(analysis),
        "colors": a["colours"],
        "faces": len(analysis.face_positions),
        "face_positions": analysis.face_positions,
        "brightness": analysis.brightness,
        "sharpness": analysis.sharpness,
        "contrast": analysis.contrast,
        "width": analysis.width,
        "height": analysis.height,
        "orientation": analysis.orientation,
        "blank": analysis.blank,
        "text_likely": analysis.text_likely,
        "scene_kind": analysis.scene_kind or None,
        "on_screen_text": analysis.ocr_text,
        "on_screen_text_lines": analysis.ocr_lines,
        "metrics": {k: a[k] for k in ("mean_lightness", "luminance_std", "laplacian_variance",
                                      "edge_density", "flat_fraction", "text_lines", "large_text_lines",
                                      "text_coverage")},
    }
