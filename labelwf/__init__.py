"""labelwf: durable, audited state machines for public label programmes.

The engine is a library; the ``labelwf`` command and the daemon are thin shells over it::

    from labelwf import Database, Engine, load_workflow

    workflow = load_workflow("workflows/poles-2008.yaml")
    db = Database("sqlite:///labelwf.db")
    engine = Engine(db, workflow)
    engine.fire("enfant", "classify", actor="dgcis", reason="rapport BCG-CMI", data={"group": 3})
"""

from .audit import VerifyReport, verify
from .clock import Clock, FrozenClock, SystemClock
from .config import Settings, load_settings
from .definition import Workflow, load_workflow, load_workflows
from .engine import Engine, Fired
from .errors import (
    ConcurrentUpdate,
    ConditionNotMet,
    ConfigError,
    ImportRejected,
    InvalidData,
    InvalidTransition,
    LabelwfError,
    LetterError,
    MissingData,
    MissingJustification,
    NotFound,
    RoleNotAllowed,
    SchemaMismatch,
    TransitionRefused,
    WorkflowError,
)
from .importer import import_entities
from .store import Database

__all__ = [
    # time
    "Clock",
    "ConcurrentUpdate",
    "ConditionNotMet",
    "ConfigError",
    "Database",
    # the engine
    "Engine",
    "Fired",
    "FrozenClock",
    "ImportRejected",
    "InvalidData",
    "InvalidTransition",
    # errors
    "LabelwfError",
    "LetterError",
    "MissingData",
    "MissingJustification",
    "NotFound",
    "RoleNotAllowed",
    "SchemaMismatch",
    "Settings",
    "SystemClock",
    "TransitionRefused",
    "VerifyReport",
    # definitions and configuration
    "Workflow",
    "WorkflowError",
    "import_entities",
    "load_settings",
    "load_workflow",
    "load_workflows",
    # audit
    "verify",
]
