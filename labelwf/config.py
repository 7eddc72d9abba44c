"""Configuration: defaults < ``config.yaml`` < ``LABELWF_*`` environment variables < command-line flags.

Relative paths in a config file are relative to that file's folder; relative paths given in the
environment or on the command line are relative to the current directory.

=====================  ==========================  ==============================================
key                    environment variable        meaning
=====================  ==========================  ==============================================
database               LABELWF_DATABASE            SQLAlchemy URL or SQLite file path
workflows              LABELWF_WORKFLOWS           folder or file of workflows, or a list (env: a:b)
templates              LABELWF_TEMPLATES           folder of letter templates (one folder per workflow)
directory              LABELWF_DIRECTORY           dated directory of the administration (CSV; empty: none)
scenarios              LABELWF_SCENARIOS           folder of scenarios to replay
migrations             LABELWF_MIGRATIONS          folder of migration files the API may plan (by name)
outbox                 LABELWF_OUTBOX              folder where delivered letters are written
timezone               LABELWF_TIMEZONE            time zone for displaying dates
busy_timeout_ms        LABELWF_BUSY_TIMEOUT_MS     SQLite: how long a writer waits for the lock
daemon_poll_seconds    LABELWF_DAEMON_POLL_SECONDS  daemon: longest wait before seeing a new timer
daemon_batch_size      LABELWF_DAEMON_BATCH_SIZE    daemon: timers fired per transaction
daemon_grace_seconds   LABELWF_DAEMON_GRACE_SECONDS daemon: later than this, a timer's catch-up policy applies
smtp_host              LABELWF_SMTP_HOST            SMTP server for letters (empty: letters are only filed)
smtp_port              LABELWF_SMTP_PORT            its port (587)
smtp_user, smtp_password  LABELWF_SMTP_USER, …      login (optional)
smtp_starttls          LABELWF_SMTP_STARTTLS        upgrade the connection with STARTTLS (true)
smtp_allow_plain_login LABELWF_SMTP_ALLOW_PLAIN_LOGIN log in without STARTTLS (false: refused)
smtp_sender            LABELWF_SMTP_SENDER          From: address
letters_max_attempts   LABELWF_LETTERS_MAX_ATTEMPTS tries before a letter is marked failed (8)
letters_lease_seconds  LABELWF_LETTERS_LEASE_SECONDS how long a sender holds a claimed letter (600)
audit_key_file         LABELWF_AUDIT_KEY_FILE       the audit key (created by init): keep it outside the database
checkpoints            LABELWF_CHECKPOINTS          folder of signed checkpoints (empty: one per database in
                                                    ~/.local/state/labelwf/checkpoints, outside the checkout)
checkpoint_interval_minutes  …_INTERVAL_MINUTES     daemon and server: a checkpoint this often if anything
                                                    changed, sooner after deadlines and plans (60; 0: none)
checkpoint_min_seconds …_MIN_SECONDS                never two automatic checkpoints closer than this (60)
checkpoint_command     LABELWF_CHECKPOINT_COMMAND   command that receives each signed checkpoint on stdin (empty: none)
oidc_issuer            LABELWF_OIDC_ISSUER          OpenID Connect provider's issuer URL (empty: no OIDC sign-in)
oidc_client_id         LABELWF_OIDC_CLIENT_ID       the client id the provider gave labelwf
oidc_client_secret     LABELWF_OIDC_CLIENT_SECRET   its secret (keep it in the environment)
oidc_scopes            LABELWF_OIDC_SCOPES          scopes asked for ("openid email")
oidc_label             LABELWF_OIDC_LABEL           the provider's name on the sign-in button
oidc_redirect_uri      LABELWF_OIDC_REDIRECT_URI    the callback's public URL (required with OIDC)
oidc_email_verified_by_issuer  …_BY_ISSUER          trust the provider's e-mail without email_verified (false)
letters_agent          LABELWF_LETTERS_AGENT        letters' "Affaire suivie par": the agent's name and function
letters_signatory_name LABELWF_LETTERS_SIGNATORY_NAME first name and name above the signatory's title
body_timeout_seconds   LABELWF_BODY_TIMEOUT_SECONDS service: longest wait for a request's body (408 after)
fires_per_minute       LABELWF_FIRES_PER_MINUTE     service: fires one account may ask per minute (0: no limit)
pdfs_per_minute        LABELWF_PDFS_PER_MINUTE      service: PDF renderings one account may ask per minute
login_failures_free    LABELWF_LOGIN_FAILURES_FREE  sign-in: failures per address and per name before delays (5)
login_delay_max_seconds  …_LOGIN_DELAY_MAX_SECONDS  sign-in: the longest delay, doubling from 1 s (900)
trusted_proxies        LABELWF_TRUSTED_PROXIES      service: proxies (addresses, CIDR) whose X-Forwarded-For is honoured
locale                 LABELWF_LOCALE               language of messages: errors of the CLI and API (fr; en)
console_theme          LABELWF_CONSOLE_THEME        the console's look: dsfr (the State's design system) or neutral
signature              LABELWF_SIGNATURE            required (default): letters wait for their post's signatory; off
signature_certificates LABELWF_SIGNATURE_CERTIFICATES folder of the posts' <post>.p12 and <post>.passphrase
signature_timestamp_url  …_SIGNATURE_TIMESTAMP_URL  RFC 3161 timestamp authority: signatures PAdES B-T (empty: B-B)
=====================  ==========================  ==============================================
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import sqlalchemy.exc
import yaml

from .errors import ConfigError
from .i18n import DEFAULT_LOCALE, available_locales
from .message import N_
from .text import text_problem

CONFIG_FILE = "config.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where labelwf keeps its data and finds its workflows."""

    database: str = "sqlite:///labelwf.db"
    workflows: Path | tuple[Path, ...] = Path("workflows")  # a folder or file, or several (versions side by side)
    templates: Path = Path("templates")
    directory: Path | None = None  # who decides and signs each kind of decision at each date
    scenarios: Path = Path("scenarios")
    migrations: Path = Path("migrations")
    outbox: Path = Path("outbox")
    timezone: str = "Europe/Paris"
    busy_timeout_ms: int = 10_000
    daemon_poll_seconds: float = 0.5
    daemon_batch_size: int = 200
    daemon_grace_seconds: float = 300.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_allow_plain_login: bool = False
    smtp_sender: str = "labelwf@localhost"
    letters_max_attempts: int = 8
    letters_lease_seconds: float = 600.0
    audit_key_file: Path = Path("audit.key")
    checkpoints: Path | None = None  # None: checkpoints.default_folder(database), outside the checkout
    checkpoint_interval_minutes: float = 60.0
    checkpoint_min_seconds: float = 60.0
    checkpoint_command: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email"
    oidc_label: str = "OpenID Connect"
    oidc_redirect_uri: str = ""
    oidc_email_verified_by_issuer: bool = False
    letters_agent: str = ""
    letters_signatory_name: str = ""
    body_timeout_seconds: float = 20.0
    fires_per_minute: int = 600
    pdfs_per_minute: int = 60
    login_failures_free: int = 5
    login_delay_max_seconds: int = 900
    trusted_proxies: tuple[str, ...] = ()
    locale: str = DEFAULT_LOCALE  # the language of messages (the API also honours Accept-Language)
    console_theme: str = "neutral"  # labelwf.service.console_theme.THEMES
    signature: str = "required"  # letters wait « à signer » (labelwf.engine.signature); off: delivered as written
    signature_certificates: Path | None = None  # <post>.p12 and its passphrase (file or environment), seal.p12
    signature_timestamp_url: str = ""  # an RFC 3161 authority: signatures are PAdES B-T; empty: B-B
    source: Path | None = None

    def __repr__(self) -> str:
        """The settings without their secrets: the database URL's password and the SMTP password masked."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["database"] = masked_url(self.database)
        for secret in ("smtp_password", "oidc_client_secret"):
            if shown[secret]:
                shown[secret] = "***"
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def oidc_enabled(self) -> bool:
        """Whether the console offers sign-in through an OpenID Connect provider."""
        return bool(self.oidc_issuer)

    @property
    def zone(self) -> ZoneInfo:
        """The display time zone."""
        return ZoneInfo(self.timezone)


_ENV = {f.name: f"LABELWF_{f.name.upper()}" for f in fields(Settings) if f.name != "source"}


def find_config(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """Return the config file to read: the explicit one, LABELWF_CONFIG, ./config.yaml, or the project's."""
    chosen = explicit or env.get("LABELWF_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError("config", str(chosen), N_("an existing YAML file"))
        return path
    for candidate in (Path.cwd() / CONFIG_FILE, PROJECT_ROOT / CONFIG_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    config: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from the config file, the environment and explicit overrides (flags)."""
    env = os.environ if env is None else env
    path = find_config(config, env)
    settings = Settings()
    if path is not None:
        settings = _apply(settings, _read(path), base=path.resolve().parent, origin=str(path))
        settings = replace(settings, source=path)
    from_env = {key: env[var] for key, var in _ENV.items() if env.get(var)}
    settings = _apply(settings, from_env, base=Path.cwd(), origin="environment")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    return _apply(settings, flags, base=Path.cwd(), origin="command line")


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError("config", str(path), N_("a readable YAML mapping (%(problem)s)", problem=str(exc))) from None
    if not isinstance(document, dict):
        raise ConfigError("config", str(path), N_("a YAML mapping of settings"))
    return document


def _apply(settings: Settings, values: Mapping[str, Any], *, base: Path, origin: str) -> Settings:
    known = set(_ENV)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            if origin.endswith(".yaml") or origin.endswith(".yml"):
                raise ConfigError(
                    key,
                    value,
                    N_("a known setting (%(known)s) in %(origin)s", known=", ".join(sorted(known)), origin=origin),
                )
            continue
        changes[key] = _coerce(key, value, base)
    return replace(settings, **changes)


def _coerce(key: str, value: Any, base: Path) -> Any:
    if key == "database":
        text = str(value)
        if text.startswith("sqlite:///file:"):  # a SQLite URI (e.g. ?mode=ro&uri=true): its path as given
            return text
        if text.startswith("sqlite:///") and not text.startswith("sqlite:////"):
            relative = text[len("sqlite:///") :]
            return text if relative in ("", ":memory:") else f"sqlite:///{(base / relative).resolve()}"
        if "://" not in text:
            return f"sqlite:///{(base / text).resolve()}"
        return text
    if key == "workflows" and isinstance(value, list | tuple):
        if not value:
            raise ConfigError(key, value, N_("a folder of workflow files, or a list of folders and files"))
        return tuple((base / str(v)).resolve() for v in value)
    if key == "workflows" and isinstance(value, str) and os.pathsep in value:  # LABELWF_WORKFLOWS=a:b
        return tuple((base / v).resolve() for v in value.split(os.pathsep) if v)
    if key == "directory":
        return (base / str(value)).resolve() if str(value or "").strip() else None
    if key == "checkpoints" and not str(value or "").strip():
        return None  # the default folder, outside the checkout: checkpoints.default_folder
    if key in ("workflows", "templates", "scenarios", "migrations", "outbox", "audit_key_file", "checkpoints"):
        return (base / str(value)).resolve()
    if key == "timezone":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(key, value, N_("an IANA time zone such as Europe/Paris")) from None
        return str(value)
    if key == "locale":
        text = str(value or "").strip()
        if text not in available_locales():
            raise ConfigError(
                key, value, N_("one of the locales labelwf speaks: %(locales)s", locales=", ".join(available_locales()))
            )
        return text
    if key in ("smtp_host", "smtp_user", "smtp_password", "smtp_sender", "oidc_client_id", "oidc_client_secret"):
        return "" if value is None else str(value)
    if key in ("oidc_issuer", "oidc_redirect_uri"):
        return _url(key, value)
    if key == "oidc_scopes":
        scopes = str(value or "").split()
        if "openid" not in scopes or not all(s.isascii() and s.isprintable() for s in scopes):
            raise ConfigError(key, value, N_('space-separated scopes including openid, e.g. "openid email"'))
        return " ".join(scopes)
    if key in ("letters_agent", "letters_signatory_name"):
        text = " ".join(str(value or "").split())
        problem = text_problem(text, key, max_length=200)
        if problem:
            raise ConfigError(key, value, N_("a name and function on one line, at most 200 characters"))
        return text
    if key == "signature":
        chosen = str(value or "").strip().lower()
        if chosen not in ("required", "off"):
            raise ConfigError(key, value, N_("required (letters wait for their signatory) or off (delivered unsigned)"))
        return chosen
    if key == "signature_certificates":
        return (base / str(value)).resolve() if str(value or "").strip() else None
    if key == "signature_timestamp_url":
        return timestamp_authority_url(key, value)
    if key == "console_theme":
        theme = str(value or "").strip().lower()
        if theme not in ("dsfr", "neutral"):
            expected = N_("dsfr (the State's design system, for a State programme) or neutral")
            raise ConfigError(key, value, expected)
        return theme
    if key == "oidc_label":
        label = " ".join(str(value or "").split())
        if not 1 <= len(label) <= 60:
            raise ConfigError(key, value, N_("the provider's name, 1 to 60 characters (e.g. ProConnect)"))
        return label
    if key in ("smtp_starttls", "smtp_allow_plain_login", "oidc_email_verified_by_issuer"):
        text = str(value).strip().lower()
        if text not in ("true", "false", "yes", "no", "1", "0"):
            raise ConfigError(key, value, N_("true or false"))
        return text in ("true", "yes", "1")
    if key in ("smtp_port", "letters_max_attempts"):
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = 0
        if count < 1 or (key == "smtp_port" and count > 65535):
            raise ConfigError(
                key, value, N_("a port number 1-65535") if key == "smtp_port" else N_("a whole number >= 1")
            )
        return count
    if key in ("fires_per_minute", "pdfs_per_minute"):
        try:
            rate = int(value)
        except (TypeError, ValueError):
            rate = -1
        if not 0 <= rate <= 1_000_000:
            raise ConfigError(key, value, N_("a whole number per minute, 0 for no limit"))
        return rate
    if key in ("login_failures_free", "login_delay_max_seconds"):
        text = str(value).strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1
        if key == "login_failures_free" and not 1 <= number <= 1_000_000:
            raise ConfigError(key, value, N_("a whole number of failed sign-ins >= 1 (e.g. 5)"))
        if key == "login_delay_max_seconds" and not 1 <= number <= 3600:
            raise ConfigError(key, value, N_("a whole number of seconds from 1 to 3600 (e.g. 900)"))
        return number
    if key == "trusted_proxies":  # env: "127.0.0.1, 10.0.0.0/8"; each kept as its network's text
        listed = list(value) if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
        try:
            return tuple(str(ipaddress.ip_network(str(v).strip(), strict=False)) for v in listed)
        except ValueError:
            expected = N_(
                "addresses or CIDR networks of the proxies in front of the service, e.g. [127.0.0.1, 10.0.0.0/8]"
            )
            raise ConfigError(key, value, expected) from None
    if key in ("busy_timeout_ms", "daemon_batch_size"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if key == "daemon_batch_size" and number < 1:
            raise ConfigError(key, value, N_("a whole number of timers >= 1"))
        if number < 0:
            raise ConfigError(key, value, N_("a whole number of milliseconds >= 0"))
        return number
    if key == "letters_lease_seconds":
        try:
            lease = float(value)
        except (TypeError, ValueError):
            lease = 0.0
        if not 10 <= lease <= 86_400:
            raise ConfigError(key, value, N_("a number of seconds from 10 to 86400 (longer than sending one letter)"))
        return lease
    if key in ("checkpoint_interval_minutes", "checkpoint_min_seconds"):
        try:
            amount = float(value)
        except (TypeError, ValueError):
            amount = -1.0
        if key == "checkpoint_interval_minutes" and not 0 <= amount <= 10_080:  # NaN fails too
            raise ConfigError(key, value, N_("a number of minutes from 0 (no automatic checkpoints) to 10080 (a week)"))
        if key == "checkpoint_min_seconds" and not 1 <= amount <= 86_400:
            raise ConfigError(key, value, N_("a number of seconds from 1 to 86400 (e.g. 60)"))
        return amount
    if key == "checkpoint_command":
        import shlex

        command = "" if value is None else str(value).strip()
        try:
            shlex.split(command)
        except ValueError:
            expected = N_("a command line with balanced quotes, e.g. 'aws s3 cp - s3://bucket/labelwf/'")
            raise ConfigError(key, value, expected) from None
        return command
    if key in ("daemon_poll_seconds", "daemon_grace_seconds"):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if seconds < 0 or (key == "daemon_poll_seconds" and seconds == 0):
            raise ConfigError(
                key,
                value,
                N_("a number of seconds > 0") if key == "daemon_poll_seconds" else N_("a number of seconds >= 0"),
            )
        return seconds
    if key == "body_timeout_seconds":
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = 0.0
        if not 0 < seconds <= 600:  # NaN fails too
            raise ConfigError(key, value, N_("a number of seconds > 0 and at most 600 (e.g. 20)"))
        return seconds
    return value  # pragma: no cover - every key is handled above


def _url(key: str, value: Any) -> str:
    """An https URL (http only on the loopback, for tests and local providers), or empty."""
    from urllib.parse import urlsplit

    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    loopback = host in ("127.0.0.1", "localhost", "::1")
    if parts is None or not host or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise ConfigError(key, value, N_("an https:// URL (http:// only on 127.0.0.1 or localhost)"))
    if parts.query or parts.fragment or parts.username:
        raise ConfigError(key, value, N_("a URL without query, fragment or user name"))
    return text.rstrip("/") if key == "oidc_issuer" else text


def timestamp_authority_url(key: str, value: Any) -> str:
    """A timestamp authority's http:// or https:// URL with a host, or empty (no timestamp)."""
    from urllib.parse import urlsplit

    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in text):
        expected = N_(
            "the http:// or https:// URL of an RFC 3161 timestamp authority, or nothing (signatures without timestamp)"
        )
        raise ConfigError(key, value, expected)
    return text


def masked_url(text: str) -> str:
    """A database URL without its password (in the authority or as a ``password=`` parameter)."""
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        return "(a database URL that cannot be parsed; not shown)"
    secret = {k: "***" for k in url.query if k.lower() in ("password", "passwd", "sslpassword")}
    return (
        url.update_query_dict(secret).render_as_string(hide_password=True)
        if secret
        else url.render_as_string(hide_password=True)
    )
