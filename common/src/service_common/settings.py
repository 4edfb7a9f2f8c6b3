"""Settings base shared by every service: environment variables, comma-separated lists."""

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


# A list given in the environment as "a,b,c" (an empty string is an empty list).
CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]


def listen_port(variable: str, default: int) -> Any:
    """A settings field for the port a service listens on, read from the service's own variable
    (ORCHESTRATOR_PORT, ...): a launcher that gives every process the same PORT moves none of them."""
    return Field(default=default, ge=1, le=65535, validation_alias=variable)


class ServiceSettings(BaseSettings):
    """Fields every service reads; each service subclasses this in its own config.py."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    log_level: str = "INFO"
    # "text": the readable lines of `make run`; "json": one JSON object a line, for a log collector.
    log_format: Literal["text", "json"] = "text"
    host: str = "127.0.0.1"

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_case_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value
