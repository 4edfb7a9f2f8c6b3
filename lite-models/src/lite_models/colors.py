"""Dominant colours of an image, named in plain English words.

Names come from a few hand-made rules over HSV (hue family, darkness, paleness) and CIELAB
(chroma, to tell greys from colours the way people perceive them), rather than from a
nearest-neighbour palette, whose boundaries are hard to reason about.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from .pictures import fit_within

# Hue families (degrees, upper bound exclusive); red wraps around 0.
_HUES = ((15, "red"), (40, "orange"), (68, "yellow"), (160, "green"), (195, "teal"),
         (255, "blue"), (335, "purple"), (361, "red"))
_GREYS = ((22, "black"), (45, "dark grey"), (72, "grey"), (90, "light grey"), (101, "white"))


@dataclass(frozen=True)
class NamedColour:
    name: str
    percent: int
    hex: str


def name_colour(bgr) -> str:
    """An English name for one BGR colour (0-255 ints)."""
    b, g, r = (float(c) for c in bgr)
    top, low = max(r, g, b), min(r, g, b)
    value = top / 255.0
    saturation = 0.0 if top == 0 else (top - low) / top
    pixel = np.array([[[b, g, r]]], dtype=np.float32) / 255.0
    lightness, a, bb = cv2.cvtColor(pixel, cv2.COLOR_BGR2Lab)[0, 0]
    chroma = float(np.hypot(a, bb))
    if value < 0.12:
        return "black"
    if chroma < 10 or saturation < 0.12:
        return next(name for bound, name in _GREYS if lightness < bound)
    hue = float(cv2.cvtColor(pixel, cv2.COLOR_BGR2HSV)[0, 0, 0])  # degrees for float input
    family = next(name for bound, name in _HUES if hue < bound)
    if family in ("orange", "yellow") and value < 0.65:
        return "brown" if family == "orange" or hue < 48 else "olive"
    if family == "red" and saturation < 0.55 and value > 0.7:
        return "pink"
    if family in ("orange", "yellow") and saturation < 0.35 and value > 0.8:
        return "beige"
    if family == "purple" and hue > 285 and value > 0.75 and saturation > 0.5:
        family = "magenta"
    if family == "teal" and value > 0.8 and saturation > 0.5:
        family = "cyan"
    if value < 0.55:
        return f"dark {family}"
    if saturation < 0.45 and value > 0.8:
        return f"light {family}"
    return family


def dominant_colours(image: np.ndarray, clusters: int = 5, min_percent: int = 4) -> list[NamedColour]:
    """Colours covering at least `min_percent` of the image, largest first, merged by name."""
    small = fit_within(image, 96.0)
    pixels = small.reshape(-1, 3).astype(np.float32)
    k = min(clusters, len(np.unique(pixels, axis=0)))
    if k <= 1:
        centres, counts = pixels[:1], np.array([len(pixels)])
    else:
        # k-means++ draws from OpenCV's per-thread RNG: seeding it here makes answers repeatable.
        cv2.setRNGSeed(1234)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
        _, labels, centres = cv2.kmeans(pixels, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
        counts = np.bincount(labels.ravel(), minlength=k)
    total = float(counts.sum())
    merged: dict[str, list] = {}
    for centre, count in zip(centres, counts, strict=True):
        if count == 0:
            continue
        name = name_colour(centre)
        entry = merged.setdefault(name, [0, centre, 0])
        entry[0] += int(count)
        if count > entry[2]:  # keep the biggest cluster's centre as the representative shade
            entry[1], entry[2] = centre, int(count)
    ordered = sorted(merged.items(), key=lambda item: (-item[1][0], item[0]))
    result = []
    for name, (count, centre, _) in ordered:
        percent = round(100 * count / total)
        if percent >= min_percent:
            b, g, r = (round(float(c)) for c in centre)
            result.append(NamedColour(name, percent, f"#{r:02x}{g:02x}{b:02x}"))
    return result
