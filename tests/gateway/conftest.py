"""Fixtures: one orchestrator stand-in and one real gateway process for the whole module run.

`public_api` is the base URL of a gateway whose behaviour tests need nothing but the public API;
end-to-end suites can provide a gateway backed by the real orchestrator under the same name.
"""

import pytest

from tests.support.processes import free_port, run_service

from .orchestrator_stub import RecordingOrchestratorStub

ALLOWED_PROXY = "socks5://127.0.0.1:9050"
MAX_FRAMES_LIMIT = 16


@pytest.fixture(scope="session")
def orchestrator_stub():
    stub = RecordingOrchestratorStub().start()
    yield stub
    stub.stop()


@pytest.fixture(autouse=True)
def _fresh_stub(request):
    # Only tests that use the stub pay for (or see) its state.
    if "orchestrator_stub" in request.fixturenames:
        request.getfixturevalue("orchestrator_stub").reset()


@pytest.fixture(scope="session")
def gateway(orchestrator_stub, tmp_path_factory):
    env = {
        "ORCHESTRATOR_URL": orchestrator_stub.url,
        "ALLOWED_PROXIES": f"{ALLOWED_PROXY}, http://proxy.example:3128",
        "MAX_FRAMES_LIMIT": str(MAX_FRAMES_LIMIT),
        "ORCHESTRATOR_TIMEOUT_S": "5",
        "RATE_LIMIT": "0",  # one gateway serves the whole session's tests
    }
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    # "/" answers without the orchestrator, so startup does not depend on the stub's health state.
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/", log=log) as (base, _):
        yield base


@pytest.fixture
def public_api(gateway):
    return gateway
