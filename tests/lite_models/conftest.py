"""One real lite model server process (uvicorn on loopback) shared by this folder's HTTP tests."""

import base64

import cv2
import numpy as np
import pytest

from tests.support.processes import free_port, run_service


@pytest.fixture(scope="session")
def lite_server() -> str:
    with run_service("lite_models.app:create_app", free_port(), env={}) as (base, _process):
        yield base


def jpeg_data_url(image: np.ndarray, quality: int = 92) -> str:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode()


def image_message(url: str, prompt: str = "Describe this video frame.") -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": prompt},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


def half_red_half_blue(width: int = 640, height: int = 360) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (0, 0, 255)  # OpenCV is BGR
    image[:, width // 2:] = (255, 0, 0)
    return image


def checkerboard(width: int = 640, height: int = 360, square: int = 40) -> np.ndarray:
    rows, cols = np.indices((height, width))
    board = (((rows // square + cols // square) % 2) * 255).astype(np.uint8)
    return cv2.cvtColor(board, cv2.COLOR_GRAY2BGR)


def text_slide(width: int = 1280, height: int = 720) -> np.ndarray:
    slide = np.full((height, width, 3), 255, np.uint8)
    for i, line in enumerate(["Quarterly results overview", "Revenue grew by twelve percent",
                              "Costs were flat year on year", "Next steps and questions"]):
        cv2.putText(slide, line, (80, 150 + i * 100), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 3)
    return slide


TRANSCRIPT_MATERIAL = """Title: How solar panels work
Duration: 00:05:10
Channel: Energy Basics

Transcript:
Hello and welcome to the show.
Solar panels turn sunlight into electricity using photovoltaic cells made of silicon.
Each photovoltaic cell in the solar panels releases electrons when sunlight hits the silicon.
The electrons flow through wires in the panels as direct current electricity.
An inverter converts the direct current from the solar panels into alternating current for your home.
My cat also likes to sit in the sun.
On cloudy days the solar panels still produce some electricity, just less of it.
Thanks for watching and see you next week.

Frames:
[00:05] A bright, sharp 1280×720 landscape frame. Dominant colours: blue (45%), white (30%). No faces detected.
[02:40] A well-lit, sharp 1280×720 landscape frame. Dominant colours: dark blue (50%), grey (20%). \
One face detected, in the centre.
"""


def _clip_frame(stamp: str, colours: str, text: bool) -> str:
    slide = (" Several rows of small high-contrast horizontal strokes: it likely contains text or a slide."
             if text else "")
    return (f"[{stamp}] A bright, high-contrast, sharp 1280×720 landscape frame. Dominant colours: {colours}. "
            f"No faces detected.{slide} Little fine detail; large flat areas suggest a slide or graphic.")


_CLIP_COLOURS = ("purple (33%), cyan (17%), red (17%), yellow (17%)",
                 "purple (33%), yellow (17%), cyan (17%), red (17%)",
                 "purple (35%), cyan (18%), red (16%), yellow (15%)")
# No transcript: only what the lite vision model said about eight frames, two of them with text.
FRAMES_ONLY_MATERIAL = "\n".join(
    ["Title: clip", "Channel: Someone", "Duration: 00:20", "", "Frames:"]
    + [_clip_frame(stamp, _CLIP_COLOURS[i % 3], stamp in ("00:05", "00:12"))
       for i, stamp in enumerate(("00:01", "00:03", "00:05", "00:08", "00:10", "00:12", "00:15", "00:18"))])


def noisy_photo(width: int = 1280, height: int = 720, seed: int = 1) -> np.ndarray:
    """Smoothed colour noise stretched to full contrast: texture everywhere, like foliage or gravel."""
    noise = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 3), None, 0, 255, cv2.NORM_MINMAX)


def title_card(word: str = "LANTERN", background: np.ndarray | None = None) -> np.ndarray:
    """One big white word in the middle of a 1280×720 frame, as on a title card."""
    card = np.full((720, 1280, 3), 30, np.uint8) if background is None else background.copy()
    (width, height), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, 6.0, 14)
    cv2.putText(card, word, ((1280 - width) // 2, (720 + height) // 2), cv2.FONT_HERSHEY_SIMPLEX, 6.0,
                (255, 255, 255), 14)
    return card


# Two topics, six sentences each: a transcript whose subject changes half-way.
ROCKETS = ["Rockets burn fuel and oxidiser in the engine to climb.",
           "The rocket engine pushes hot gas down so the rocket rises.",
           "A rocket carries its own oxygen so the engine works in space.",
           "The fuel tanks of the rocket are most of its weight.",
           "Rocket stages drop away when their fuel is spent.",
           "The upper stage engine puts the rocket payload into orbit."]
BREAD = ["To bake bread you mix flour, water, salt and yeast into a dough.",
         "Knead the dough until the flour dough is smooth and elastic.",
         "The yeast makes the bread dough rise in a warm bowl.",
         "Shape the risen dough into a loaf of bread.",
         "Bake the bread loaf in a hot oven for forty minutes.",
         "Let the bread cool before you slice the loaf."]
