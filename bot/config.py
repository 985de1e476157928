"""Typed settings, read once from the environment (and `.env`).

The names are the external contract of the design: operators and tests rely
on them, so nothing here is renamed without the README changing too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///turnout.db"

# Values copied from examples and templates that must never run for real.
_PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "xxx", "todo", "placeholder", "your-token-here", "secret"}
)
_PLACEHOLDER_PREFIXES = ("xoxb-your", "xapp-your", "acxxxxxxxx", "your-", "<")


class ConfigError(Exception):
    """Settings that cannot run the service; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Turnout cannot start:\n{lines}")


class Settings(BaseSettings):
    """Everything Turnout reads from its environment."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from_number: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    public_base_url: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - the service is meant to be reachable
    port: int = 3000
    support_channel_id: str | None = None
    admin_user_ids: str = ""
    default_region: str = "GB"
    sms_backend: Literal["twilio", "sandbox"] = "twilio"
    # How long simulated members take to reply: "MIN-MAX" seconds, or one number.
    simulated_reply_seconds: str = "10-60"
    # How long a text or a Slack delivery stays claimed by an instance that went
    # quiet (killed mid-send) before another instance checks it and takes it over.
    outbox_lease_seconds: float = 120.0

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("sms_backend", mode="before")
    @classmethod
    def _lower_backend(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("outbox_lease_seconds")
    @classmethod
    def _positive_lease(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a number of seconds above 0")
        return value

    @field_validator("simulated_reply_seconds")
    @classmethod
    def _delay_range(cls, value: str) -> str:
        parse_delay_range(value)
        return value.strip()

    @property
    def reply_delay_range(self) -> tuple[float, float]:
        return parse_delay_range(self.simulated_reply_seconds)

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.admin_user_ids.split(",") if u.strip())

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None and bool(self.slack_app_token.get_secret_value())

    def status_callback_url(self, message_id: int) -> str:
        base = (self.public_base_url or "").rstrip("/")
        return f"{base}/twilio/status?m={message_id}"

    def public_url(self, path: str) -> str:
        return (self.public_base_url or "").rstrip("/") + path

    def check_for_serve(self) -> None:
        """Refuse to run with missing or placeholder values, naming each one."""
        problems: list[str] = []
        required: dict[str, str | SecretStr | None] = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "PUBLIC_BASE_URL": self.public_base_url,
            "SUPPORT_CHANNEL_ID": self.support_channel_id,
        }
        if self.sms_backend == "twilio":
            required["TWILIO_ACCOUNT_SID"] = self.twilio_account_sid
            required["TWILIO_AUTH_TOKEN"] = self.twilio_auth_token
        for name, value in required.items():
            problem = _problem(value)
            if problem:
                problems.append(f"{name} is {problem}")
        if self.sms_backend == "twilio" and not (
            self.twilio_messaging_service_sid or self.twilio_from_number
        ):
            problems.append("set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER (the sender)")
        if self.public_base_url and not self.public_base_url.startswith(("https://", "http://")):
            problems.append("PUBLIC_BASE_URL must start with https:// (Twilio calls it)")
        token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else ""
        if token and not _problem(self.slack_bot_token) and not token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
        if problems:
            raise ConfigError(problems)


def parse_delay_range(text: str) -> tuple[float, float]:
    """ "10-60" -> (10.0, 60.0); "5" -> (5.0, 5.0); ValueError naming the format."""
    low, _, high = text.strip().partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise ValueError(
            f"SIMULATED_REPLY_SECONDS must be seconds as MIN-MAX (e.g. 10-60), not {text!r}"
        ) from None
    if not 0 <= bounds[0] <= bounds[1] <= 86400:
        raise ValueError(
            f"SIMULATED_REPLY_SECONDS {text!r}: MIN and MAX must be 0–86400 with MIN <= MAX"
        )
    return bounds


def _problem(value: str | SecretStr | None) -> str | None:
    if value is None:
        return "missing"
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    lowered = raw.strip().lower()
    if not lowered:
        return "empty"
    if lowered in _PLACEHOLDERS or lowered.startswith(_PLACEHOLDER_PREFIXES):
        return f"a placeholder ({raw!r}); put the real value in the environment or .env"
    return None
