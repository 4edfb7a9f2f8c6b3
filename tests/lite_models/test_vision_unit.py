"""Pure functions of the vision side: colour naming, dominant colours, image measures, data URLs."""

import cv2
import numpy as np
import pytest

from lite_models.colors import dominant_colours, name_colour
from lite_models.errors import ApiError
from lite_models.images import decode_data_url
from lite_models.vision import VisionAnalyzer, analysis_document, describe

from .conftest import checkerboard, half_red_half_blue, jpeg_data_url, text_slide


@pytest.fixture(scope="module")
def analyzer() -> VisionAnalyzer:
    return VisionAnalyzer()


@pytest.mark.parametrize(("rgb", "name"), [
    ((255, 0, 0), "red"), ((0, 0, 255), "blue"), ((0, 160, 0), "green"), ((255, 255, 0), "yellow"),
    ((255, 140, 0), "orange"), ((139, 69, 19), "brown"), ((0, 0, 0), "black"), ((255, 255, 255), "white"),
    ((128, 128, 128), "grey"), ((0, 0, 110), "dark blue"), ((135, 206, 235), "light blue"),
    ((255, 182, 193), "pink"), ((128, 0, 128), "dark purple"), ((0, 128, 128), "dark teal"),
])
def test_name_colour(rgb, name):
    assert name_colour(rgb[::-1]) == name


def test_dominant_colours_of_two_halves():
    colours = dominant_colours(half_red_half_blue())
    assert {c.name for c in colours} == {"red", "blue"}
    assert all(48 <= c.percent <= 52 for c in colours)


def test_dominant_colours_are_repeatable():
    noise = np.random.default_rng(7).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    assert dominant_colours(noise) == dominant_colours(noise.copy())


def test_black_frame_is_blank_and_dark(analyzer):
    analysis = analyzer.analyse(np.zeros((360, 640, 3), np.uint8))
    assert analysis.blank and analysis.brightness == "very dark"
    assert "black" in describe(analysis)


def test_sharp_and_blurred_checkerboards_differ(analyzer):
    sharp = analyzer.analyse(checkerboard())
    blurred = analyzer.analyse(cv2.GaussianBlur(checkerboard(), (0, 0), 8))
    assert sharp.sharpness == "sharp"
    assert blurred.sharpness == "blurry"
    assert sharp.laplacian_variance > 10 * blurred.laplacian_variance


def test_text_slide_is_flagged_and_checkerboard_is_not(analyzer):
    assert analyzer.analyse(text_slide()).text_likely
    assert not analyzer.analyse(checkerboard()).text_likely


def test_orientation_and_size(analyzer):
    portrait = analyzer.analyse(np.full((800, 450, 3), 128, np.uint8))
    assert (portrait.width, portrait.height, portrait.orientation) == (450, 800, "portrait")
    assert "450×800 portrait" in describe(portrait)


def test_analysis_document_shape(analyzer):
    document = analysis_document(analyzer.analyse(half_red_half_blue()))
    assert {"description", "colors", "faces", "brightness", "sharpness"} <= document.keys()
    assert isinstance(document["faces"], int) and document["faces"] >= 0


def test_decode_data_url_roundtrip():
    image = decode_data_url(jpeg_data_url(half_red_half_blue()), max_bytes=1_000_000)
    assert image.shape == (360, 640, 3)


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://example.com/frame.jpg", "data: URL"),
    ("file:///etc/passwd", "data: URL"),
    ("data:image/jpeg;base64,!!not base64!!", "base64"),
    ("data:image/jpeg;base64,aGVsbG8gd29ybGQ=", "could not decode"),
    ("data:text/plain;base64,aGVsbG8=", "expected an image"),
    ("data:image/png,rawbytes", "base64"),
])
def test_decode_data_url_rejects(url, fragment):
    with pytest.raises(ApiError) as caught:
        decode_data_url(url, max_bytes=1_000_000)
    assert caught.value.status == 400 and fragment in caught.value.message


def test_decode_data_url_size_limit():
    with pytest.raises(ApiError, match="larger than"):
        decode_data_url(jpeg_data_url(checkerboard()), max_bytes=100)
