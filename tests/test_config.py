"""Settings: defaults < config file < LABELWF_* environment < flags, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelwf import ConfigError, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_config_file_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "config.yaml", "database: sqlite:///data/lw.db\nworkflows: wf\n")
    settings = load_settings(config, env={})
    assert settings.database == f"sqlite:///{tmp_path / 'data' / 'lw.db'}"
    assert settings.workflows == tmp_path / "wf"


def test_environment_overrides_the_file_and_flags_override_both(tmp_path: Path) -> None:
    config = write(tmp_path / "config.yaml", "database: sqlite:///a.db\ntimezone: Europe/Paris\n")
    env = {"LABELWF_DATABASE": "postgresql://db.example/prod", "LABELWF_TIMEZONE": "Indian/Reunion"}
    settings = load_settings(config, env=env)
    assert (settings.database, settings.timezone) == ("postgresql://db.example/prod", "Indian/Reunion")
    flagged = load_settings(config, env=env, overrides={"database": "postgresql://other/db"})
    assert flagged.database == "postgresql://other/db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timezone: Paris\n", "an IANA time zone"),
        ("busy_timeout_ms: soon\n", "a whole number of milliseconds"),
        ("databse: x\n", "a known setting"),
        ("- a list\n", "a YAML mapping"),
    ],
)
def test_a_bad_setting_names_the_key_the_value_and_what_is_expected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path / "config.yaml", text), env={})


def test_an_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="an existing YAML file"):
        load_settings(tmp_path / "absent.yaml", env={})
