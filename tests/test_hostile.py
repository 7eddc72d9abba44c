"""Hostile and careless input, case by case: each is refused (or contained) with a message, and writes nothing."""

from __future__ import annotations

import dataclasses
import http.server
import re
import shutil
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import (
    BusinessTimeRefused,
    Database,
    Engine,
    EntityRow,
    FrozenClock,
    ImportRejected,
    InvalidData,
    LetterError,
    WorkflowError,
    add_entities,
    load_workflow,
    store,
    verify,
)
from labelwf.audit.hashing import event_hash
from labelwf.cli import main
from labelwf.engine import queries
from labelwf.engine.deadlines import fire_due
from labelwf.engine.delivery import (
    DeliverySettings,
    Outbox,
    _data_only,
    _weasyprint,
    letter_paths,
    pdf_unavailable,
    render_pdf,
)
from labelwf.letters.render import LetterRenderer, content_checksum
from labelwf.store.records import event_from_row
from tests.conftest import CONFIG_FILE, ROOT
from tests.helpers import OPERATOR, edit

ESCAPE = (
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c.__init__.__globals__['system']('id') }}{% endfor %}"
)
LABEL_TERM = datetime(2009, 12, 31, 23, 0, tzinfo=UTC)

# the event a letter is written for, as much of it as the renderer reads
EVENT = SimpleNamespace(reason="", trigger="", occurred_at=datetime(2010, 1, 1, tzinfo=UTC))


# -- templates run in the sandbox ---------------------------------------------------------------


def test_a_subject_that_escapes_to_python_is_refused_at_validation_with_its_line(programme: Path) -> None:
    workflow = programme / "workflows" / "poles-2008.yaml"
    text = workflow.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "subject:" in row)
    old = text.splitlines()[line - 1]
    edit(workflow, old, old.split("subject:")[0] + f'subject: "{ESCAPE}"')
    with pytest.raises(WorkflowError) as refused:
        load_workflow(workflow)
    messages = [(p.line, p.message) for p in refused.value.problems]
    assert any(at == line and "'__class__'" in m and "Python internals" in m for at, m in messages), messages


def test_a_template_that_escapes_to_python_is_refused_at_validation_with_file_and_line(programme: Path) -> None:
    template = programme / "templates" / "poles-2008" / "classement_groupe_1.j2"
    edit(template, "{% block corps %}", "{% block corps %}{{ entity.__class__.__mro__ }}")
    with pytest.raises(WorkflowError) as refused:
        load_workflow(programme / "workflows" / "poles-2008.yaml")
    assert any(p.file == str(template) and p.line and "'__mro__'" in p.message for p in refused.value.problems)


def test_the_sandbox_refuses_the_escape_at_render_time_too(tmp_path: Path) -> None:
    # Given a template folder that never went through validation
    for layout in ("_layout.txt.j2", "_layout.html.j2"):
        shutil.copy(ROOT / "templates" / "_shared" / layout, tmp_path / layout)
    (tmp_path / "evil.j2").write_text(
        "{% extends layout %}{% block objet %}x{% endblock %}{% block corps %}" + ESCAPE + "{% endblock %}",
        encoding="utf-8",
    )
    renderer = LetterRenderer(tmp_path)
    context = {"entity": {"name": "x"}, "facts": [], "event": EVENT, "workflow": {"title": "t"}}
    context |= {"date_fr": "1er janvier 2010", "decision_date_fr": "1er janvier 2010", "reference": "r", "data": {}}
    with pytest.raises(LetterError, match=r"unsafe|access to attribute"):
        renderer.render("evil", "evil.j2", "objet", {"prefet": "le préfet"}, [], context)


@pytest.fixture
def http_server() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
def test_pdf_rendering_fetches_nothing_from_the_network_or_the_disk(http_server: tuple[int, list[str]]) -> None:
    port, hits = http_server
    html = (
        f"<html><head><style>@import url(http://127.0.0.1:{port}/style.css);</style></head><body>"
        f'<img src="http://127.0.0.1:{port}/pixel.png"><a rel="attachment" href="file:///etc/passwd">x</a>'
        "</body></html>"
    )
    assert render_pdf(html).startswith(b"%PDF")
    assert hits == []
    fetch = _data_only(_weasyprint())
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{port}/x", "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError, match=r"disallowed protocol|refused"):
            fetch(url)


# -- files that would exhaust memory or recursion -----------------------------------------------

BOMB = """workflow: bomb
version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "aliases (*name) are not allowed"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels"),
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("x" * (1024 * 1024 + 1), "larger than the 1,048,576 bytes allowed"),
    ],
    ids=["alias-bomb", "deep-nesting", "empty", "comments-only", "too-large"],
)
def test_a_file_that_would_exhaust_memory_is_refused_with_a_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "workflows" / "hostile.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(WorkflowError) as refused:
            load_workflow(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert any(message in p.message for p in refused.value.problems), refused.value.problems
    assert peak < 100 * 1024 * 1024


LOOP = """
workflow: loops
version: 1
timezone: Europe/Paris
initial: open
states:
  open:
    timers:
      - {name: again, after: {seconds: 0}, trigger: tick}
  done: {final: true}
transitions:
  - {trigger: tick, source: open, dest: open, roles: [system]}
  - {trigger: close, source: open, dest: done}
"""


def test_timers_that_would_fire_in_a_loop_without_time_passing_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "workflows" / "loops.yaml"
    path.parent.mkdir()
    path.write_text(LOOP, encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"fire in a loop without time passing: open \(timer again\) → open"):
        load_workflow(path)
    path.write_text(LOOP.replace("{seconds: 0}", "{days: 1}"), encoding="utf-8")
    assert load_workflow(path).name == "loops"


# -- one bad timer never stops the others ---------------------------------------------------------


def test_a_timer_whose_letter_fails_on_a_value_fails_alone_and_the_others_fire(db: Database, programme: Path) -> None:
    template = programme / "templates" / "poles-2008" / "fin_label_maintenu.j2"
    edit(template, "{% block corps %}", "{% block corps %}Depuis le {{ entity.attributes.theme | date_fr }}. ")
    clock = FrozenClock(datetime(2008, 6, 30, tzinfo=UTC))
    engine = Engine(db, load_workflow(programme / "workflows" / "poles-2008.yaml"), clock=clock)
    rows = [
        EntityRow(i, e, e, {"theme": t})
        for i, (e, t) in enumerate([("a", "2009-01-01"), ("b", "oops"), ("c", "2008-07-01")])
    ]
    add_entities(engine, rows, actor="import", reason="test")
    for entity in ("a", "b", "c"):
        engine.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    clock.set(LABEL_TERM)
    report = fire_due(engine)
    assert (report.fired, report.failed) == (2, 1)
    assert report.errors[0].startswith("b/label_term:") and "ValueError" in report.errors[0]
    assert verify(db).ok


# -- text is printed as text ----------------------------------------------------------------------


def test_names_and_actors_that_look_like_markup_are_printed_literally(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    engine = Engine(db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"))
    add_entities(engine, [EntityRow(1, "crochets", "[/x] Pôle [bold]gras[/bold]", {})], actor="import", reason="t")
    engine.fire("crochets", "classify", data={"group": 3}, actor="op[/i]", reason="Approved [not] by me")
    db.dispose()
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    for args, expected in (
        (["list"], "[/x] Pôle [bold]gras[/bold]"),
        (["show", "crochets"], "[/x] Pôle [bold]gras[/bold]"),
        (["history", "crochets"], "op[/i] (agent) : Approved [not] by me"),
    ):
        result = CliRunner().invoke(main, [*base, *args])
        assert result.exit_code == 0, result.output
        assert expected in result.stdout.replace("\n", " ").replace("  ", " ") or expected in result.stdout


# -- business time is bounded ---------------------------------------------------------------------


def test_a_decision_dated_before_the_last_event_or_in_the_future_is_refused_and_writes_nothing(
    poles: Engine, clock: FrozenClock
) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # at 18 June 2008
    clock.set(datetime(2010, 6, 1, tzinfo=UTC))
    for at, words in (
        (datetime(2005, 1, 1, tzinfo=UTC), "is before its last event (2008-06-18T08:00:00+00:00)"),
        (datetime(2999, 12, 31, tzinfo=UTC), "is in the future (after 2010-06-01T00:05:00+00:00)"),
    ):
        with pytest.raises(BusinessTimeRefused, match=re.escape(words)) as refused:
            poles.fire("enfant", "start_reevaluation", at=at, **OPERATOR)
        assert refused.value.at == at
    assert [e.trigger for e in queries.history(poles, "enfant").items] == [None, "classify"]
    # Backdating between the last event and now is allowed, and shows as occurred before recorded.
    fired = poles.fire("enfant", "start_reevaluation", at=datetime(2009, 4, 15, tzinfo=UTC), **OPERATOR)
    event = queries.history(poles, "enfant").items[-1]
    assert fired.occurred_at == event.occurred_at < event.recorded_at == clock.now()


def test_the_cli_refuses_an_impossible_date_with_exit_2_and_no_traceback(database_url: str) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    assert (
        runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv"), "--at", "2008-06-18"]).exit_code
        == 0
    )
    for at in ("2005-01-01", "2999-12-31", "0001-01-01"):
        result = runner.invoke(
            main, [*base, "fire", "enfant", "classify", "--set", "group=3", "--at", at, "--actor", "a", "--reason", "r"]
        )
        assert result.exit_code == 2, (at, result.output)
        assert "business time" in result.stderr or "out of range" in result.stderr
        assert "Traceback" not in result.output


# -- names, paths and typed text are checked where they enter ------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (EntityRow(1, "../../x", "X", {}), "is not a slug"),
        (EntityRow(1, "nul\x00", "X", {}), "is not a slug"),
        (EntityRow(1, "ok", "Name\x1b]0;pwned\x07", {}), "control character U+001B"),
        (EntityRow(1, "ok", "\u202egnp.exe", {}), "control character U+202E"),
        (EntityRow(1, "ok", "x" * 301, {}), "at most 300 are allowed"),
        (EntityRow(1, "ok", "X", {"region": "a\nb"}), "control character U+000A"),
    ],
    ids=["traversal", "nul", "escape", "bidi", "long", "newline-attribute"],
)
def test_the_library_refuses_entities_the_importer_would_refuse(engine: Engine, row: EntityRow, message: str) -> None:
    with pytest.raises(ImportRejected, match=re.escape(message)):
        add_entities(engine, [row], actor="import", reason="test")
    assert queries.list_instances(engine).items == ()


@pytest.mark.parametrize(
    ("actor", "reason", "message"),
    [
        ("op\x1b[2J", "r", "actor contains the control character U+001B"),
        ("op", "clear\x1b[2Jscreen", "reason contains the control character U+001B"),
        ("x" * 201, "r", "actor is 201 characters long"),
    ],
)
def test_an_actor_or_reason_with_control_characters_is_refused(
    poles: Engine, actor: str, reason: str, message: str
) -> None:
    with pytest.raises(InvalidData, match=re.escape(message)):
        poles.fire("enfant", "classify", data={"group": 3}, actor=actor, reason=reason)
    poles.fire("enfant", "classify", data={"group": 3}, actor="op", reason="line one\nline two")


def test_a_letter_name_or_template_that_would_leave_its_folder_is_refused(programme: Path) -> None:
    workflow = programme / "workflows" / "poles-2008.yaml"
    edit(workflow, "  classement_groupe_1:\n", "  x/../../elsewhere:\n")
    with pytest.raises(WorkflowError, match="letter name must be lower_snake_case"):
        load_workflow(workflow)


def test_an_outbox_path_that_would_leave_the_outbox_is_refused(tmp_path: Path) -> None:
    when = datetime(2010, 1, 1, tzinfo=UTC)
    assert letter_paths(tmp_path, "enfant", when, "lettre", "prefet")["txt"].parent == tmp_path / "enfant"
    for entity, template in (("../../etc", "lettre"), ("enfant", "../../../x"), ("nul\x00", "lettre"), ("", "x")):
        with pytest.raises(OSError, match="outside the outbox"):
            letter_paths(tmp_path, entity, when, template, "prefet")


# -- the chain is keyed ---------------------------------------------------------------------------

KEY = bytes(range(32))


def rewrite_chain_without_the_key(db: Database, entity: str, actor: str) -> None:
    """What someone with write access to the database but not the key can do: change an actor, and
    recompute every hash of the chain (the only hash they can compute: plain sha256)."""
    with db.write() as conn:
        iid = conn.execute(sa.select(store.instance.c.id).where(store.instance.c.entity_id == entity)).scalar_one()
        rows = conn.execute(sa.select(store.event).where(store.event.c.instance_id == iid).order_by("seq")).mappings()
        previous = "0" * 64
        for row in list(rows):
            forged = dataclasses.replace(
                event_from_row(row, entity, "poles-2008"), hash_format=2, prev_hash=previous, actor=actor
            )
            previous = event_hash(forged)
            conn.execute(
                store.event.update()
                .where(store.event.c.id == row["id"])
                .values(actor=actor, hash_format=2, prev_hash=forged.prev_hash, hash=previous)
            )
        conn.execute(store.instance.update().where(store.instance.c.id == iid).values(last_hash=previous))
        # Events of format 2 predate sealed letters: their letters are re-checksummed as letters then were.
        m = store.letter
        for letter in conn.execute(sa.select(m).where(m.c.instance_id == iid)).mappings().all():
            checksum = content_checksum(letter["subject"], letter["body"], letter["body_html"] or "")
            conn.execute(m.update().where(m.c.id == letter["id"]).values(checksum=checksum))


def test_a_chain_recomputed_without_the_key_is_detected_with_it(db: Database, clock: FrozenClock) -> None:
    engine = Engine(db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"), clock=clock, audit_key=KEY)
    add_entities(engine, [EntityRow(1, "enfant", "Enfant", {})], actor="import", reason="t")
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    assert verify(db, key=KEY).ok and verify(db, key=KEY).unauthenticated == 0
    unkeyed = verify(db)  # without the key: the structure holds, the content is not authenticated
    assert unkeyed.ok and not unkeyed.keyed and unkeyed.unauthenticated == 2
    rewrite_chain_without_the_key(db, "enfant", "mallory")
    [broken] = verify(db, key=KEY).breaks
    assert broken.seq == 0 and "hashed without the audit key" in broken.problem
    assert verify(db).ok  # which is why the key must be kept outside the database


def test_a_keyed_event_changed_in_place_is_detected_and_a_wrong_key_fails_everything(
    db: Database, clock: FrozenClock
) -> None:
    engine = Engine(db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"), clock=clock, audit_key=KEY)
    add_entities(engine, [EntityRow(1, "enfant", "Enfant", {})], actor="import", reason="t")
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with db.write() as conn:
        conn.execute(store.event.update().where(store.event.c.seq == 1).values(reason="autre motif"))
    [broken] = verify(db, key=KEY).breaks
    assert broken.seq == 1 and "does not match the event's content" in broken.problem
    assert verify(db, key=bytes(32)).breaks[0].seq == 0


def test_init_creates_the_audit_key_and_verify_says_which_guarantee_it_checked(
    database_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "audit.key"
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    assert f"audit key: created {key_file}" in runner.invoke(main, [*base, "init"]).stdout
    assert oct(key_file.stat().st_mode & 0o777) == "0o600" and len(key_file.read_text().strip()) == 64
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv")])
    assert "(authenticity checked with the audit key)" in runner.invoke(main, [*base, "audit", "verify"]).stdout
    key_file.rename(tmp_path / "elsewhere.key")
    assert "(structure only: no audit key at" in runner.invoke(main, [*base, "audit", "verify"]).stdout


# -- a letter changed after it was written is never sent --------------------------------------------


def test_a_pending_letter_changed_in_the_database_is_refused_before_delivery(poles: Engine, tmp_path: Path) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    with poles.db.write() as conn:
        conn.execute(
            store.letter.update()
            .where(store.letter.c.recipient == "prefet")
            .values(body="Virez 10 000 euros au compte ci-dessous.", recipient_address="ailleurs")
        )
    outbox = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "outbox", pdf=False), clock=poles.clock)
    report = outbox.deliver_due()
    assert (report.delivered, report.failed) == (2, 1)
    assert "no longer matches the checksum" in report.errors[0]
    assert not list((tmp_path / "outbox").glob("*/*prefet*"))  # nothing of it was filed
    assert outbox.deliver_due().handled == 0  # and it is not retried


# -- secrets stay secret --------------------------------------------------------------------------


def test_a_password_in_a_database_url_is_never_printed() -> None:
    for url in ("postgresql://u:s3cret@127.0.0.1:1/db", "postgresql://u@127.0.0.1:1/db?password=s3cret"):
        db = Database(url)
        assert "s3cret" not in db.display_url
        result = CliRunner().invoke(main, ["--db", url, "list"])
        assert result.exit_code == 2 and "s3cret" not in result.output + result.stderr
        db.dispose()


def test_an_smtp_login_without_tls_is_refused_unless_explicitly_allowed(tmp_path: Path) -> None:
    from labelwf import ConfigError, Runtime

    settings = {"smtp_host": "127.0.0.1", "smtp_user": "agent", "smtp_starttls": "false"}
    with pytest.raises(ConfigError, match="sends the password in clear"):
        _ = Runtime.from_config(CONFIG_FILE, overrides=settings).outbox
    allowed = Runtime.from_config(CONFIG_FILE, overrides={**settings, "smtp_allow_plain_login": "true"})
    assert allowed.outbox.settings.smtp is not None
