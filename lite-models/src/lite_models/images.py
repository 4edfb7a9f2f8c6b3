"""Turning `image_url` parts into pixels. Only inline data: URLs: the lite server never fetches URLs."""

import base64
import binascii
import os
import re

# A small PNG can declare a gigantic canvas; OpenCV reads this limit once, when it loads,
# so it must be set before the first `import cv2` of the process.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(64_000_000))

import cv2
import numpy as np

from .errors import ApiError

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+(=[^;,]*)?)*),(?P<data>.*)$", re.DOTALL)


def _bad_image(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_image", param="messages")


def decode_data_url(url: str, max_bytes: int) -> np.ndarray:
    """A BGR uint8 image from a `data:image/...;base64,...` URL; ApiError 400 for anything else."""
    if not url.startswith("data:"):
        scheme = url.split(":", 1)[0][:20] if ":" in url else "a bare string"
        raise _bad_image(f"image_url must be an inline data: URL (got {scheme}); "
                         "the lite server does not fetch remote images")
    match = _DATA_URL.match(url)
    if not match:
        raise _bad_image("malformed data: URL in image_url")
    mime = (match["mime"] or "").lower()
    if mime and not mime.startswith("image/"):
        raise _bad_image(f"data: URL has media type {mime!r}, expected an image")
    if ";base64" not in match["params"].lower():
        raise _bad_image("image data: URL must be base64-encoded")
    payload = re.sub(r"\s+", "", match["data"])
    if len(payload) * 3 // 4 > max_bytes:
        raise ApiError(400, f"image is larger than {max_bytes} bytes", code="image_too_large", param="messages")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_image("image data is not valid base64") from None
    if not raw:
        raise _bad_image("image data is empty")
    try:
        image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise _bad_image("could not decode the image (supported: JPEG, PNG, WebP, BMP, TIFF; at most 64 megapixels)")
    return image
