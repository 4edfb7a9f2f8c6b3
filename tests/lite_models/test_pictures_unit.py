"""In-process checks of the lite server's shared picture and wording helpers."""

import numpy as np
import pytest

from lite_models.pictures import fit_within
from lite_models.words import listed


@pytest.mark.parametrize(("shape", "longest", "expected"), [
    ((360, 640, 3), 96, (54, 96, 3)),
    ((640, 360), 320, (320, 180)),
    ((2000, 1), 100, (100, 1)),  # never narrower than a pixel
])
def test_larger_pictures_shrink_to_the_longest_side(shape, longest, expected):
    assert fit_within(np.zeros(shape, np.uint8), longest).shape == expected


def test_a_picture_that_fits_is_the_same_picture():
    image = np.zeros((96, 50, 3), np.uint8)
    assert fit_within(image, 96) is image and fit_within(image, 960.0) is image


def test_lists_read_as_prose():
    assert [listed(["a"]), listed(["a", "b"]), listed(["a", "b", "c"])] == ["a", "a and b", "a, b and c"]
