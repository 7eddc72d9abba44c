"""The one way to wire labelwf: from settings to the database, the engine, the outbox and the daemon.

The CLI, the daemon and any server build their objects here, so that a setting means the same
thing everywhere::

    runtime = Runtime.from_config("config.yaml")
    runtime.engine.fire("enfant", "classify", data={"group": 3}, actor="dgcis", reason="rapport")
    runtime.close()

Everything is built on first use: a command that only validates a workflow file opens no database.
"""

from __future__ import annotations

import os
import pwd
import socket
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .audit.checkpoints import Checkpointer, CheckpointSettings, default_folder
from .audit.key import create_key, load_key
from .clock import Clock
from .config import Settings, load_settings
from .engine.daemon import Daemon, DaemonSettings
from .engine.delivery import DeliverySettings, Outbox, SmtpSettings
from .engine.fire import Engine
from .engine.sealed_notices import NoticeRecorder
from .errors import ConfigError
from .letters.directory import Directory, load_directory
from .letters.render import Signers
from .logs import LogFormat, configure
from .message import N_
from .store import Database
from .workflow.definition import Workflow
from .workflow.loader import load_workflows

if TYPE_CHECKING:  # pyHanko loads only where letters are signed
    from .engine.signature import SignatureDesk
    from .letters.post_certificates import PostCertificates
    from .letters.signing import Timestamper


def os_principal() -> str:
    """``user@host`` of this process, from its uid (not from ``$USER``, which anyone can set);
    ``uid 1000@host`` when the uid has no name (a container's arbitrary user)."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"[:200]


class Runtime:
    """labelwf wired from ``Settings``: ``db``, ``workflows``, ``engine``, ``outbox`` and ``daemon()``."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock

    @classmethod
    def from_config(
        cls,
        config: str | Path | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> Runtime:
        """Settings from ``config`` (or the default file), the environment and ``overrides``, wired."""
        return cls(load_settings(config, overrides=overrides), clock=clock)

    @cached_property
    def db(self) -> Database:
        """The database of the settings (not connected until first used)."""
        return Database(self.settings.database, busy_timeout_ms=self.settings.busy_timeout_ms)

    @cached_property
    def workflows(self) -> list[Workflow]:
        """Every workflow file of the settings' folder, validated."""
        return load_workflows(self.settings.workflows, self.settings.templates)

    @cached_property
    def audit_key(self) -> bytes | None:
        """The audit key of the settings' key file, or None when there is none (created by ``init``)."""
        return load_key(self.settings.audit_key_file)

    def create_audit_key(self) -> bool:
        """Create the audit key file if it is missing; return whether it was created."""
        created = create_key(self.settings.audit_key_file)
        self.__dict__.pop("audit_key", None)
        return created

    @cached_property
    def principal(self) -> str:
        """Who this process acts as: its operating-system user (recorded beside each claimed actor)."""
        return os_principal()

    @cached_property
    def directory(self) -> Directory | None:
        """The dated directory of the administration (``directory:``), read and checked once; None if unset."""
        path = self.settings.directory
        return load_directory(path) if path is not None else None

    @cached_property
    def engine(self) -> Engine:
        """The engine over every loaded workflow version, hashing with the audit key when there is one."""
        workflows = self.workflows  # a broken workflow file is reported before a broken directory
        s = self.settings
        signers = Signers(s.letters_agent, s.letters_signatory_name, self.directory, s.signature == "required")
        return Engine(
            self.db,
            workflows,
            clock=self.clock,
            audit_key=self.audit_key,
            principal=self.principal,
            signers=signers,
        )

    @cached_property
    def outbox(self) -> Outbox:
        """Delivery of the letters: the outbox folder, and SMTP when a host is set."""
        s = self.settings
        smtp = None
        if s.smtp_host and s.smtp_user and not s.smtp_starttls and not s.smtp_allow_plain_login:
            raise ConfigError(
                "smtp_starttls",
                False,
                N_(
                    "true when smtp_user is set: a login without TLS sends the password in clear "
                    "(set smtp_allow_plain_login: true only for a server on this machine)"
                ),
            )
        if s.smtp_host:
            smtp = SmtpSettings(
                host=s.smtp_host,
                port=s.smtp_port,
                user=s.smtp_user or None,
                password=s.smtp_password or None,
                starttls=s.smtp_starttls,
                sender=s.smtp_sender,
            )
        delivery = DeliverySettings(
            outbox=s.outbox,
            smtp=smtp,
            max_attempts=s.letters_max_attempts,
            lease_seconds=s.letters_lease_seconds,
            timezone=s.zone,
        )
        seal = self.certificates.seal(when=self.engine.clock.now()) if s.signature == "required" else None
        timestamp = self.timestamper if seal is not None else None
        recorder = NoticeRecorder(self.engine) if seal is not None else None  # a sealed notice's sha256 in its chain
        return Outbox(
            self.db,
            delivery,
            clock=self.clock,
            audit_key=self.audit_key,
            seal=seal,
            timestamp=timestamp,
            recorder=recorder,
        )

    @cached_property
    def certificates(self) -> PostCertificates:
        """The posts' signing certificates (``signature_certificates``), opened when first used."""
        from .letters.post_certificates import PostCertificates

        return PostCertificates(self.settings.signature_certificates)

    @cached_property
    def signature_desk(self) -> SignatureDesk:
        """The signature step over this database: the posts' queues, signing, sending back."""
        from .engine.signature import SignatureDesk

        return SignatureDesk(self.engine, self.certificates, directory=self.directory, timestamp=self.timestamper)

    @cached_property
    def timestamper(self) -> Timestamper | None:
        """The timestamp authority of ``signature_timestamp_url`` (signatures PAdES B-T), or None (B-B)."""
        from .letters.signing import timestamper

        return timestamper(self.settings.signature_timestamp_url or None)

    @cached_property
    def checkpoint_folder(self) -> Path:
        """Where checkpoints are kept: the ``checkpoints`` setting, or this database's own folder
        under the user's state folder (outside the checkout)."""
        return self.settings.checkpoints or default_folder(self.db.display_url)

    @cached_property
    def checkpointer(self) -> Checkpointer:
        """Signed checkpoints into the folder (and the command), taken by the daemon and the server."""
        s = self.settings
        settings = CheckpointSettings(
            folder=self.checkpoint_folder,
            interval_seconds=s.checkpoint_interval_minutes * 60,
            floor_seconds=s.checkpoint_min_seconds,
            command=s.checkpoint_command,
        )
        return Checkpointer(self.db, self.audit_key, settings, clock=self.clock)

    def daemon(
        self,
        *,
        poll_seconds: float | None = None,
        batch_size: int | None = None,
        grace_seconds: float | None = None,
        letters: bool = True,
    ) -> Daemon:
        """A daemon over the engine (and the outbox, with ``letters``); ``None`` keeps the setting."""
        s = self.settings
        settings = DaemonSettings(
            poll_seconds=poll_seconds if poll_seconds is not None else s.daemon_poll_seconds,
            batch_size=batch_size if batch_size is not None else s.daemon_batch_size,
            grace_seconds=grace_seconds if grace_seconds is not None else s.daemon_grace_seconds,
        )
        return Daemon(self.engine, settings, outbox=self.outbox if letters else None, checkpointer=self.checkpointer)

    @staticmethod
    def configure_logging(log_format: LogFormat, stream: IO[str]) -> None:
        """Structured log lines of the daemon (and APScheduler's errors) on ``stream``."""
        configure(log_format, stream)

    def close(self) -> None:
        """Release the database connections, if any were opened."""
        if "db" in self.__dict__:
            self.db.dispose()
