"""Every error labelwf raises on purpose.

    LabelwfError
    ├── ConfigError              bad configuration value
    ├── WorkflowError            a workflow file is invalid (carries every problem found)
    ├── ImportRejected           a data file is invalid (carries every bad row); nothing was imported
    ├── ScenarioError            a scenario file is invalid, or one of its steps was refused
    ├── PlanRejected             a plan's input (selection, outcomes file, migration file) is invalid
    ├── DatabaseNotEmpty         a replay was asked on a database that already holds instances
    ├── OthersActed              replay --reset would erase what others than the replay recorded
    ├── NotFound                 no such instance / entity / letter
    ├── AmbiguousWorkflow        an entity has instances in several loaded workflows: name one
    ├── TransitionRefused        the workflow does not allow this fire
    │   ├── InvalidTransition    the trigger is not allowed in the current state
    │   ├── ConditionNotMet      the trigger exists here but no condition matched the data
    │   ├── MissingData          a field the transition requires was not given
    │   ├── InvalidData          a field is unknown to the transition or its value is malformed
    │   ├── RoleNotAllowed       the trigger is reserved to other roles
    │   └── MissingJustification an operator action without an actor or a reason
    ├── BusinessTimeRefused      a decision dated before the instance's last event, or in the future
    ├── ConcurrentUpdate         someone else changed the instance first (optimistic concurrency)
    ├── ActionRefused            an operator's action (a letter's retry…) does not apply as things stand
    │   └── NothingToExecute     a plan is run whose every item was refused at its preview
    ├── RateLimited              more fires or PDFs in a minute than an account's share
    ├── Overloaded               a server process already runs as many password checks (or console writes) as it takes
    ├── LetterError              a letter could not be rendered; the fire was not applied
    ├── LetterAltered            a letter's stored copy is not the one its event sealed
    ├── CertificateError         a signing certificate or its passphrase cannot be used
    ├── SignatureRefused         a PDF cannot be signed as asked (not a PDF, a bad signature box)
    ├── InvalidCursor            a page cursor that no listing of this kind handed out
    ├── SchemaMismatch           the database schema is not the one this code expects
    └── DatabaseError            the database refused or failed (the driver's error, wrapped)
        ├── DatabaseBusy         another process held the write lock past the busy timeout
        ├── DatabaseUnavailable  the database cannot be reached or opened
        └── ReadOnlyDatabase     the database can only be read here; a write was refused

Every class carries the values it talks about as fields, so the CLI can print them and tests can
assert on them without parsing text; every one says its message through the ``labelwf`` catalogue
(``labelwf.message``, ``labelwf.i18n``).

The classes live by concept in this package's modules (``base``, ``inputs``, ``refusals``, ``limits``,
``database``, ``letters``); ``from labelwf.errors import X`` names any of them.
"""

from __future__ import annotations

from .base import LabelwfError
from .database import (
    DatabaseBusy,
    DatabaseError,
    DatabaseNotEmpty,
    DatabaseUnavailable,
    OthersActed,
    ReadOnlyDatabase,
    ResetRefused,
    SchemaMismatch,
)
from .inputs import (
    AccountError,
    ConfigError,
    ImportRejected,
    PlanRejected,
    Problem,
    ScenarioError,
    WorkflowError,
)
from .letters import (
    CertificateError,
    CheckpointError,
    LetterAltered,
    LetterError,
    SignatureRefused,
)
from .limits import Overloaded, RateLimited
from .refusals import (
    ActionRefused,
    AmbiguousWorkflow,
    BusinessTimeRefused,
    ConcurrentUpdate,
    ConditionNotMet,
    InvalidCursor,
    InvalidData,
    InvalidTransition,
    MissingData,
    MissingJustification,
    NotFound,
    NothingToExecute,
    ReservedIdentity,
    RoleNotAllowed,
    TransitionRefused,
)

__all__ = [
    "AccountError",
    "ActionRefused",
    "AmbiguousWorkflow",
    "BusinessTimeRefused",
    "CertificateError",
    "CheckpointError",
    "ConcurrentUpdate",
    "ConditionNotMet",
    "ConfigError",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseNotEmpty",
    "DatabaseUnavailable",
    "ImportRejected",
    "InvalidCursor",
    "InvalidData",
    "InvalidTransition",
    "LabelwfError",
    "LetterAltered",
    "LetterError",
    "MissingData",
    "MissingJustification",
    "NotFound",
    "NothingToExecute",
    "OthersActed",
    "Overloaded",
    "PlanRejected",
    "Problem",
    "RateLimited",
    "ReadOnlyDatabase",
    "ReservedIdentity",
    "ResetRefused",
    "RoleNotAllowed",
    "ScenarioError",
    "SchemaMismatch",
    "SignatureRefused",
    "TransitionRefused",
    "WorkflowError",
]
