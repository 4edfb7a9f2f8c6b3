"""Fixtures of the deploy tests: each Kubernetes overlay, rendered once per module that asks for it."""

import pytest

from tests.deploy.kubernetes_render import OVERLAYS, render


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def docs(overlay) -> list[dict]:
    return render(overlay)
