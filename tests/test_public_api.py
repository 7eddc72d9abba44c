"""The public API is deliberate: this test pins it."""

import labelwf


def test_the_public_api_is_exactly_what_we_export() -> None:
    assert set(labelwf.__all__) == {
        "Engine",
        "Fired",
        "Database",
        "Workflow",
        "load_workflow",
        "load_workflows",
        "EntityRow",
        "add_entities",
        "import_entities",
        "Settings",
        "load_settings",
        "Daemon",
        "DaemonSettings",
        "Scenario",
        "load_scenario",
        "replay",
        "ReplayReport",
        "Clock",
        "SystemClock",
        "FrozenClock",
        "verify",
        "VerifyReport",
        "LabelwfError",
        "CheckpointError",
        "ReservedIdentity",
        "ResetRefused",
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
        "InvalidCursor",
        "DatabaseError",
        "DatabaseBusy",
        "DatabaseUnavailable",
        "ReadOnlyDatabase",
        "Runtime",
        "Instance",
        "Event",
        "Timer",
        "TimerStatus",
        "Letter",
        "LetterStatus",
        "Page",
    }
    for name in labelwf.__all__:
        assert getattr(labelwf, name).__doc__, f"{name} has no docstring"


def test_every_error_derives_from_the_root_and_says_when_it_is_raised() -> None:
    errors = [getattr(labelwf, n) for n in labelwf.__all__ if n.endswith(("Error", "Rejected", "Found", "Refused"))]
    errors += [
        labelwf.InvalidTransition,
        labelwf.ConditionNotMet,
        labelwf.MissingData,
        labelwf.InvalidData,
        labelwf.RoleNotAllowed,
        labelwf.MissingJustification,
        labelwf.ConcurrentUpdate,
        labelwf.SchemaMismatch,
        labelwf.AmbiguousWorkflow,
        labelwf.BusinessTimeRefused,
        labelwf.InvalidCursor,
        labelwf.DatabaseBusy,
        labelwf.DatabaseUnavailable,
        labelwf.ReadOnlyDatabase,
    ]
    for error in errors:
        assert issubclass(error, labelwf.LabelwfError)
        assert error.__doc__.startswith("Raised when"), error
