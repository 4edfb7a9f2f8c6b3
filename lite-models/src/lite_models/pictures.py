"""Pictures made smaller before they are looked at: the work of every step grows with the pixels."""

import cv2
import numpy as np


def fit_within(image: np.ndarray, longest_side: float) -> np.ndarray:
    """The image shrunk (by area averaging) so that its longer side is at most `longest_side`; the same
    image when it is no larger."""
    height, width = image.shape[:2]
    scale = longest_side / max(height, width)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)
