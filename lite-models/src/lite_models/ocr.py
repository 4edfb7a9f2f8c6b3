"""Reading on-screen text with RapidOCR's ONNX models, which ship inside the `rapidocr` wheel.

The models are named by path so that nothing is ever fetched; if the package or its models are
missing the reader turns itself off (with one warning) and frames are described without text.
"""

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .pictures import fit_within

log = logging.getLogger(__name__)

# Boxes the recogniser is less sure of than this are mostly texture read as letters.
MIN_CONFIDENCE = 0.6
MAX_TEXT_CHARS = 300
_DET_MODEL, _REC_MODEL = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"
_LETTER = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class TextBox:
    text: str
    confidence: float
    # Corners as fractions of the image, so boxes read from a downscaled copy keep their meaning.
    left: float
    top: float
    right: float
    bottom: float


@dataclass
class OcrResult:
    lines: list[str] = field(default_factory=list)
    # The share of the image that recognised text covers (0..1).
    coverage: float = 0.0

    @property
    def text(self) -> str:
        return clip_text(" / ".join(self.lines))

    @property
    def words(self) -> set[str]:
        return {w.lower() for line in self.lines for w in re.findall(r"\w+", line) if len(w) > 1}


def clip_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" /,;:") + "…"


def reading_order(boxes: list[TextBox]) -> list[str]:
    """Lines top to bottom; boxes whose vertical centres fall within half a line height share a line
    and are read left to right."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: ((b.top + b.bottom) / 2, b.left)):
        centre, height = (box.top + box.bottom) / 2, box.bottom - box.top
        row = rows[-1] if rows else None
        if row is not None:
            row_centre = sum((b.top + b.bottom) / 2 for b in row) / len(row)
            if abs(centre - row_centre) <= max(height, row[0].bottom - row[0].top) / 2:
                row.append(box)
                continue
        rows.append([box])
    return [" ".join(b.text for b in sorted(row, key=lambda b: b.left)) for row in rows]


def clean_boxes(boxes: list[TextBox]) -> list[TextBox]:
    kept = []
    for box in boxes:
        text = " ".join(box.text.split())
        if box.confidence < MIN_CONFIDENCE or len(_LETTER.findall(text)) < 2 and not text.isdigit():
            continue
        kept.append(TextBox(text, box.confidence, box.left, box.top, box.right, box.bottom))
    return kept


class TextReader:
    """One RapidOCR engine, loaded on first use and shared; calls are serialised to bound CPU use."""

    def __init__(self, enabled: bool = True, max_side: int = 960, threads: int = 2):
        self.enabled = enabled
        self.max_side = max_side
        self._threads = threads
        self._engine = None
        self._failed = False
        self._lock = threading.Lock()

    def _load(self):
        if self._engine is None and not self._failed:
            try:
                import rapidocr
                from rapidocr import RapidOCR
                models = Path(rapidocr.__file__).parent / "models"
                for name in (_DET_MODEL, _REC_MODEL):
                    if not (models / name).is_file():
                        raise FileNotFoundError(models / name)
                self._engine = RapidOCR(params={
                    "Global.use_cls": False, "Global.log_level": "error",
                    "Det.model_path": str(models / _DET_MODEL), "Rec.model_path": str(models / _REC_MODEL),
                    "Det.limit_type": "max", "Det.limit_side_len": self.max_side,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                })
            except Exception as exc:  # noqa: BLE001 - any failure here only means "no OCR"
                self._failed = True
                log.warning("on-screen text reading is off: %s", exc)
        return self._engine

    @property
    def available(self) -> bool:
        return self.enabled and self._load() is not None

    def read(self, image: np.ndarray) -> OcrResult:
        """Text in a BGR image; an empty result when reading is off or finds nothing."""
        if not self.enabled:
            return OcrResult()
        small = fit_within(image, self.max_side)
        with self._lock:
            engine = self._load()
            if engine is None:
                return OcrResult()
            try:
                output = engine(np.ascontiguousarray(small))
            except Exception:  # noqa: BLE001 - a frame the reader chokes on is described without text
                log.warning("on-screen text reading failed for one image", exc_info=True)
                return OcrResult()
        if output is None or output.boxes is None or output.txts is None:
            return OcrResult()
        sh, sw = small.shape[:2]
        boxes = [TextBox(str(text), float(score), float(np.min(box[:, 0])) / sw, float(np.min(box[:, 1])) / sh,
                         float(np.max(box[:, 0])) / sw, float(np.max(box[:, 1])) / sh)
                 for box, text, score in zip(np.asarray(output.boxes), output.txts, output.scores, strict=True)]
        boxes = clean_boxes(boxes)
        coverage = sum(max(0.0, b.right - b.left) * max(0.0, b.bottom - b.top) for b in boxes)
        return OcrResult(reading_order(boxes), round(min(1.0, coverage), 4))
