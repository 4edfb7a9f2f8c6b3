"""Every service's `python -m` serves on its HOST and its own port variable, the way its settings read them,
with the slow-client HTTP protocol the images and `make run` give uvicorn."""

import importlib

import pytest

from gateway.config import GatewaySettings
from lite_models.config import LiteSettings
from media_service.config import MediaSettings
from orchestrator.config import OrchestratorSettings
from service_common import serving
from service_common.slow_clients import HttpProtocol

# settings class, the variable its port is read from, the port without it, the module `python -m` runs
SERVICES = [
    (GatewaySettings, "PORT", 8000, "gateway"),
    (OrchestratorSettings, "ORCHESTRATOR_PORT", 8001, "orchestrator"),
    (MediaSettings, "MEDIA_SERVICE_PORT", 8002, "media_service"),
    (LiteSettings, "LITE_MODELS_PORT", 8003, "lite_models"),
]
PORT_VARIABLES = [variable for _, variable, _, _ in SERVICES]


@pytest.fixture(autouse=True)
def no_port_variables(monkeypatch):
    for variable in [*PORT_VARIABLES, "HOST"]:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(("settings_class", "variable", "default", "module"), SERVICES, ids=lambda v: str(v))
def test_each_service_reads_its_own_port_variable(settings_class, variable, default, module, monkeypatch):
    assert settings_class().port == default
    for other in PORT_VARIABLES:
        monkeypatch.setenv(other, "9999" if other != variable else "9123")
    assert settings_class().port == 9123
    monkeypatch.setenv(variable, "0")
    with pytest.raises(ValueError):
        settings_class()


@pytest.mark.parametrize(("settings_class", "variable", "default", "module"), SERVICES, ids=lambda v: str(v))
def test_python_m_serves_on_host_and_port(settings_class, variable, default, module, monkeypatch):
    served = []
    monkeypatch.setattr(serving.uvicorn, "run", lambda app, **options: served.append((app, options)))
    monkeypatch.setenv("HOST", "127.0.0.9")
    monkeypatch.setenv(variable, "9124")
    monkeypatch.setenv("ALLOW_UNAUTHENTICATED", "true")
    if module == "gateway":  # builds its app itself (gateway/__main__.py calls this main at import)
        entry = importlib.import_module("gateway.app")
        monkeypatch.setattr(entry, "_configure_logging", lambda settings: None)  # this process's logging stays
    else:
        entry = importlib.import_module(f"{module}.__main__")
    entry.main()
    [(app, options)] = served
    assert options["host"] == "127.0.0.9" and options["port"] == 9124 and options["http"] is HttpProtocol
    assert options["factory"] == isinstance(app, str)
    if isinstance(app, str):
        assert app == f"{module}.app:create_app"
