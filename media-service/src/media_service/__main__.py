"""`python -m media_service`: serve the media API on HOST and MEDIA_SERVICE_PORT."""

from service_common.serving import serve

from .config import MediaSettings


def main() -> None:
    settings = MediaSettings()
    serve("media_service.app:create_app", settings.host, settings.port)


if __name__ == "__main__":
    main()
