"""On-screen text reading, scene kind and frame-to-frame changes."""

import time

import cv2
import numpy as np
import pytest

from lite_models.ocr import OcrResult, TextBox, TextReader, clean_boxes, clip_text, reading_order
from lite_models.scene import BLANK, NATURAL, SLIDE, describe_change, scene_kind
from lite_models.vision import VisionAnalyzer, analysis_document, describe

from .conftest import checkerboard, half_red_half_blue, noisy_photo, title_card


def title_slide(words: str = "QUARTERLY RESULTS 2026") -> np.ndarray:
    slide = np.full((720, 1280, 3), 255, np.uint8)
    cv2.putText(slide, words, (80, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (0, 0, 0), 5)
    cv2.putText(slide, "Revenue grew by twelve percent", (80, 350), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (40, 40, 40), 3)
    return slide


class _FakeReader(TextReader):
    """Stands in for the OCR engine where the tests are about what is done with its result."""

    def __init__(self, lines: list[str], coverage: float = 0.1):
        super().__init__()
        self.lines, self.coverage, self.calls = lines, coverage, 0

    def read(self, image):
        self.calls += 1
        return OcrResult(list(self.lines), self.coverage)


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def test_reader_finds_rendered_words(reader):
    result = reader.read(title_slide())
    assert "QUARTERLY RESULTS 2026" in result.lines
    assert {"revenue", "twelve", "percent"} <= result.words
    assert result.lines.index("QUARTERLY RESULTS 2026") == 0
    assert 0.02 < result.coverage < 0.5


def test_reader_finds_nothing_on_a_flat_image(reader):
    assert reader.read(np.full((360, 640, 3), 200, np.uint8)).lines == []


def test_disabled_reader_reads_nothing():
    assert TextReader(enabled=False).read(title_slide()).lines == []


def test_reading_order_and_cleaning():
    boxes = [TextBox("world", 0.9, 0.5, 0.10, 0.7, 0.15), TextBox("Hello", 0.95, 0.1, 0.11, 0.4, 0.16),
             TextBox("Second line", 0.9, 0.1, 0.30, 0.5, 0.35), TextBox("~", 0.99, 0.1, 0.5, 0.12, 0.52),
             TextBox("noise", 0.3, 0.1, 0.6, 0.3, 0.65)]
    assert reading_order(clean_boxes(boxes)) == ["Hello world", "Second line"]


def test_clip_text_cuts_at_a_word():
    clipped = clip_text("word " * 100, limit=30)
    assert clipped.endswith("…") and len(clipped) <= 31 and "wor…" not in clipped


def test_text_slide_description_quotes_its_text():
    fake = _FakeReader(["QUARTERLY RESULTS 2026", "Revenue grew"])
    analysis = VisionAnalyzer(reader=fake).analyse(title_slide())
    assert analysis.scene_kind == SLIDE
    text = describe(analysis)
    assert "On-screen text: “QUARTERLY RESULTS 2026 / Revenue grew”." in text
    assert "text-heavy slide" in text
    document = analysis_document(analysis)
    assert document["scene_kind"] == "slide" and document["on_screen_text_lines"][0] == "QUARTERLY RESULTS 2026"


def test_ocr_runs_only_on_text_like_frames():
    fake = _FakeReader(["should not be read"])
    analyzer = VisionAnalyzer(reader=fake)
    for image in (np.zeros((360, 640, 3), np.uint8), half_red_half_blue()):
        assert analyzer.analyse(image).ocr_text == ""
    assert fake.calls == 0


@pytest.mark.parametrize(("kwargs", "kind"), [
    ({"blank": True, "text_lines": 0, "text_coverage": 0, "ocr_words": 0, "flat_fraction": 1, "edge_density": 0},
     BLANK),
    ({"blank": False, "text_lines": 4, "text_coverage": 0.12, "ocr_words": 12, "flat_fraction": 0.8,
      "edge_density": 0.04}, SLIDE),
    ({"blank": False, "text_lines": 0, "text_coverage": 0, "ocr_words": 0, "flat_fraction": 0.1,
      "edge_density": 0.2}, NATURAL),
])
def test_scene_kind(kwargs, kind):
    assert scene_kind(**kwargs) == kind


def test_natural_and_blank_frames_get_their_kind():
    analyzer = VisionAnalyzer(reader=TextReader(enabled=False))
    noise = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, (360, 640, 3), dtype=np.uint8), (0, 0), 2)
    assert analyzer.analyse(noise).scene_kind == NATURAL
    assert analyzer.analyse(np.zeros((360, 640, 3), np.uint8)).scene_kind == BLANK
    assert analyzer.analyse(checkerboard()).scene_kind != SLIDE


def test_change_names_new_text_colours_and_faces():
    analyzer = VisionAnalyzer(reader=TextReader(enabled=False))
    before = analyzer.analyse(half_red_half_blue())
    after = analyzer.analyse(np.full((360, 640, 3), (0, 200, 0), np.uint8))
    after.ocr_lines, after.face_positions = ["Chapter two"], ["in the centre"]
    sentence = describe_change(before, after, difference=60.0)
    assert sentence.startswith("Compared with the previous frame: a different shot")
    assert "new on-screen text “Chapter two”" in sentence
    assert f"colours shift from {before.colours[0].name} to green" in sentence
    assert sentence.endswith("and a face appears.")


def test_unchanged_frames_say_so():
    analyzer = VisionAnalyzer(reader=TextReader(enabled=False))
    one = analyzer.analyse(half_red_half_blue())
    assert describe_change(one, one, difference=0.0) == "Compared with the previous frame: nearly the same picture."


@pytest.mark.parametrize("card", [title_card(), title_card(background=noisy_photo())], ids=["dark", "noisy"])
def test_a_big_single_word_title_is_read(card):
    fake = _FakeReader(["LANTERN"], coverage=0.03)
    analysis = VisionAnalyzer(reader=fake).analyse(card)
    assert fake.calls == 1 and analysis.large_text_lines >= 1
    assert "On-screen text: “LANTERN”." in describe(analysis)


def test_frames_without_text_are_not_read_and_stay_cheap():
    fake = _FakeReader(["should not be read"])
    analyzer = VisionAnalyzer(reader=fake)
    frames = [np.full((720, 1280, 3), 120, np.uint8), noisy_photo(), checkerboard(1280, 720),
              half_red_half_blue(1280, 720)]
    started = time.perf_counter()
    for frame in frames:
        assert analyzer.analyse(frame).large_text_lines == 0
    # Generous: an analysis is tens of milliseconds; reading text would add hundreds.
    assert (time.perf_counter() - started) / len(frames) < 1.0
    assert fake.calls == 0
