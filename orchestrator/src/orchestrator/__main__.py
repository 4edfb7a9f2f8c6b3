"""`python -m orchestrator`: serve the internal API (and workers) on HOST and ORCHESTRATOR_PORT."""

from service_common.serving import serve

from .config import OrchestratorSettings


def main() -> None:
    settings = OrchestratorSettings()
    serve("orchestrator.app:create_app", settings.host, settings.port)


if __name__ == "__main__":
    main()
