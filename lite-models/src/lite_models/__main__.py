"""`python -m lite_models`: serve the lite model server on HOST and LITE_MODELS_PORT."""

from service_common.serving import serve

from .config import LiteSettings


def main() -> None:
    settings = LiteSettings()
    serve("lite_models.app:create_app", settings.host, settings.port)


if __name__ == "__main__":
    main()
