"""Typed settings of the whole project.

One root model, one section per component. Values come from (highest first) explicit arguments,
environment variables ``ASPECTS_<FIELD>`` / ``ASPECTS_<SECTION>__<FIELD>``, a TOML config file
(``--config`` or ``ASPECTS_CONFIG``), then defaults. Secrets are ``SecretStr``: they print as
``**********``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aspects.api.settings import ApiSettings
from aspects.courses.settings import CoursesSettings
from aspects.dashboards.settings import DashboardsSettings
from aspects.errors import ConfigError
from aspects.ingest.settings import IngestSettings
from aspects.lrs.settings import LRSSettings
from aspects.privacy.settings import PrivacySettings
from aspects.store.settings import StoreSettings
from aspects.transform.settings import TransformSettings

CONFIG_ENV = "ASPECTS_CONFIG"


class Settings(BaseSettings):
    """Root settings; see docs/settings.md for every field."""

    model_config = SettingsConfigDict(
        env_prefix="ASPECTS_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    mode: Literal["development", "production"] = Field(
        default="development",
        description=(
            "`production` refuses to start without explicit secrets and passwords; "
            "`development` generates them once into <data_dir>/secrets/."
        ),
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for the embedded database, documents, checkpoints and secrets.",
    )
    shutdown_timeout: float = Field(
        default=60.0,
        gt=0,
        description=(
            "After SIGTERM/Ctrl-C, `aspects serve` and `aspects ingest follow` stop cleanly; "
            "one still running this many seconds later prints its threads' stacks to stderr "
            "and exits with status 1 (nothing read is lost: checkpoints follow storage)."
        ),
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    transform: TransformSettings = Field(default_factory=TransformSettings)
    lrs: LRSSettings = Field(default_factory=LRSSettings)
    dashboards: DashboardsSettings = Field(default_factory=DashboardsSettings)
    courses: CoursesSettings = Field(default_factory=CoursesSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.mode != "production":
            return self
        missing = [
            name
            for name, value in (
                ("transform.secret", self.transform.secret),
                ("store.admin_password", self.store.admin_password),
                ("store.readonly_password", self.store.readonly_password),
            )
            if value is None
        ]
        if self.store.url is not None:
            # A server has its own users: only the transformer secret is ours to require.
            missing = [name for name in missing if not name.startswith("store.")]
        if missing:
            raise ValueError(f"production mode needs explicit values for: {', '.join(missing)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML source reads model_config["toml_file"], set by load_settings().
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def secret(self, name: str, configured: SecretStr | None) -> str:
        """The value of a secret: the configured one, else (development only) a generated one.

        Generated secrets are kept in ``<data_dir>/secrets/<name>`` (mode 0600) so that they stay
        stable across runs: the pseudonymous actor ids depend on them.
        """
        if configured is not None:
            return configured.get_secret_value()
        if self.mode == "production":
            raise ConfigError(f"production mode needs an explicit value for {name}")
        directory = self.data_dir / "secrets"
        path = directory / name
        if path.exists():
            return path.read_text().strip()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings, turning validation errors into one readable ConfigError."""
    if config_file is None and os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV])
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file not found: {config_file}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    try:
        return FileSettings(**overrides)
    except ValidationError as error:
        lines = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "settings"
            lines.append(f"  {where}: {item['msg']}")
        raise ConfigError("invalid settings:\n" + "\n".join(lines)) from None
