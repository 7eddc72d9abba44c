"""labelwf: durable, audited state machines for public label programmes.

The engine is a library; the ``labelwf`` command and the daemon are thin shells over it::

    from labelwf import Database, Engine, load_workflow

    workflow = load_workflow("workflows/poles-2008.yaml")
    db = Database("sqlite:///labelwf.db")
    engine = Engine(db, workflow)          # or Runtime.from_config("config.yaml").engine
    engine.fire("enfant", "classify", actor="dgcis", reason="rapport BCG-CMI", data={"group": 3})
"""

from .audit.verification import VerifyReport, verify
from .clock import Clock, FrozenClock, SystemClock
from .config import Settings, load_settings
from .engine.daemon import Daemon, DaemonSettings
from .engine.fire import Engine
from .engine.fired import Fired
from .errors import (
    AmbiguousWorkflow,
    BusinessTimeRefused,
    CheckpointError,
    ConcurrentUpdate,
    ConditionNotMet,
    ConfigError,
    DatabaseBusy,
    DatabaseError,
    DatabaseNotEmpty,
    DatabaseUnavailable,
    ImportRejected,
    InvalidCursor,
    InvalidData,
    InvalidTransition,
    LabelwfError,
    LetterError,
    MissingData,
    MissingJustification,
    NotFound,
    ReadOnlyDatabase,
    ReservedIdentity,
    ResetRefused,
    RoleNotAllowed,
    ScenarioError,
    SchemaMismatch,
    TransitionRefused,
    WorkflowError,
)
from .operations.importer import EntityRow, add_entities, import_entities
from .runtime import Runtime
from .scenarios.replay import ReplayReport, replay
from .scenarios.scenario import Scenario, load_scenario
from .store import Database, Event, Instance, Letter, LetterStatus, Page, Timer, TimerStatus
from .workflow.definition import Workflow
from .workflow.loader import load_workflow, load_workflows

__all__ = [
    # the engine
    "Engine",
    "Fired",
    "Database",
    "Runtime",
    # records read back
    "Instance",
    "Event",
    "Timer",
    "TimerStatus",
    "Letter",
    "LetterStatus",
    "Page",
    # definitions, data and configuration
    "Workflow",
    "load_workflow",
    "load_workflows",
    "EntityRow",
    "add_entities",
    "import_entities",
    "Settings",
    "load_settings",
    # deadlines and replays
    "Daemon",
    "DaemonSettings",
    "Scenario",
    "load_scenario",
    "replay",
    "ReplayReport",
    # time
    "Clock",
    "SystemClock",
    "FrozenClock",
    # audit
    "verify",
    "VerifyReport",
    # errors
    "LabelwfError",
    "ConfigError",
    "WorkflowError",
    "ImportRejected",
    "ScenarioError",
    "DatabaseNotEmpty",
    "NotFound",
    "TransitionRefused",
    "InvalidTransition",
    "ConditionNotMet",
    "MissingData",
    "InvalidData",
    "RoleNotAllowed",
    "MissingJustification",
    "ConcurrentUpdate",
    "LetterError",
    "SchemaMismatch",
    "AmbiguousWorkflow",
    "BusinessTimeRefused",
    "CheckpointError",
    "ReservedIdentity",
    "ResetRefused",
    "InvalidCursor",
    "DatabaseError",
    "DatabaseBusy",
    "DatabaseUnavailable",
    "ReadOnlyDatabase",
]
