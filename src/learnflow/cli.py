"""The ``learnflow`` command: serve the services, ask a question, manage the database and docs."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar, get_args

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel

from learnflow.config import get_settings
from learnflow.errors import NotFound
from learnflow.services.catalog import CATALOG

if TYPE_CHECKING:  # imported where used: the CLI starts without the services
    from sqlalchemy.ext.asyncio import AsyncSession

    from learnflow.config import Settings
    from learnflow.services.triage.schemas import TriageCreate

app = typer.Typer(help="LearnFlow: an AI-assisted Python tutor backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
kafka_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
docs_app = typer.Typer(
    help="Generated documentation: event schemas, AsyncAPI, the HTTP API's OpenAPI.", no_args_is_help=True
)
models_app = typer.Typer(
    help="The tutor's text models (triage router, topic matcher, off-topic classifier).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(kafka_app, name="kafka")
app.add_typer(docs_app, name="docs")
app.add_typer(models_app, name="models")
users_app = typer.Typer(
    help="Local accounts (AUTH_PROVIDER=local): add, list, set a password, disable.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
classes_app = typer.Typer(help="Classes: a teacher and their students.", no_args_is_help=True)
app.add_typer(classes_app, name="classes")
console = Console()
T = TypeVar("T")
DOCS_DIR = Path("docs")
# The server's GIL switch interval (see serve).
SWITCH_INTERVAL_S = 0.0005


def _logging(level: int | None = None, *, service: str = "learnflow") -> None:
    from learnflow.observability import configure_logging

    configure_logging(get_settings(), level=level, service=service)


@app.command()
def serve(
    service: Annotated[str | None, typer.Argument(help=f"One of {', '.join(CATALOG.names)}; all when omitted.")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve every service in one process, or one service alone (as in a pod)."""
    import uvicorn

    from learnflow.services.app import create_app

    if service is not None and service not in CATALOG:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(CATALOG.names)}")
    _logging(service=f"{service}-service" if service else "learnflow")
    application = create_app([service] if service else None, freeze_heap=True)
    if service != "runner":
        hint = asyncio.run(_first_start_hint(get_settings()))
        if hint:
            Console(stderr=True).print(hint, style="yellow", markup=False, highlight=False)
    # Work handed to a thread (a sandbox run, a password hash, aiosqlite if chosen) comes back through
    # the GIL. While the event loop is busy, a thread that finished waits up to the switch interval
    # (5 ms by default) for it, and the request waiting on it with it: under load, with every database
    # call on a driver thread, that waiting was most of the tail latency (bench/load.py).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # Logging is ours (configured above): uvicorn's loggers reach the root handler, and its access log
    # gives way to the middleware's line, which carries the request id.
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)


FIRST_TEACHER = (
    "No accounts yet: nobody can sign in. Create the first teacher (you are asked for the password twice):\n"
    "    learnflow users add NAME --role teacher\n"
    "then sign in with POST /api/auth/login (or the Authorize button on /docs). "
    "For local experiments without accounts: LEARNFLOW_AUTH=off."
)


async def _first_start_hint(settings: Settings) -> str | None:
    """How to create the first teacher, when local accounts are on and there are none."""
    from learnflow.auth import accounts
    from learnflow.db import Database

    if not settings.auth.enabled or settings.auth.provider != "local":
        return None
    database = Database(settings.database_url, connect_timeout_s=settings.db.connect_timeout_s)
    try:
        await database.upgrade()
        async with database.session() as session:
            existing = await accounts.count(session)
    finally:
        await database.dispose()
    return FIRST_TEACHER if existing == 0 else None


# Where each field of a triage request comes from on the command line, to name it in a usage error.
_ASK_PARAMS = {
    "query": "QUESTION",
    "code": "--code",
    "error_message": "--error",
    "stdin": "--stdin",
    "expected_output": "--expected",
    "student_id": "--student",
    "session_id": "--session",
}


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")] = "",
    code: Annotated[Path | None, typer.Option("--code", exists=True, dir_okay=False, help="A Python file.")] = None,
    error: Annotated[str | None, typer.Option("--error", help="The error message you got.")] = None,
    stdin: Annotated[str | None, typer.Option("--stdin", help="Input to feed the code when it is run.")] = None,
    expected: Annotated[
        str | None, typer.Option("--expected", help="What the code should print (debug compares).")
    ] = None,
    student: Annotated[str, typer.Option(help="Student id.")] = "cli-student",
    session: Annotated[str, typer.Option(help="Session id.")] = "cli-session",
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw response as JSON.")] = False,
) -> None:
    """Ask the tutor a question without a server and print the routed answer.

    The answers are kept in a SQLite database in your data directory (LEARNFLOW_DATA_DIR overrides it).
    """
    from pydantic import ValidationError

    from learnflow.config import for_one_user
    from learnflow.services.triage.schemas import TriageCreate

    if not question.strip() and code is None and not (error or "").strip():
        raise typer.BadParameter("ask a question, or give --code or --error", param_hint="QUESTION")
    source = code.read_text(encoding="utf-8") if code else None
    try:
        body = TriageCreate(
            student_id=student,
            session_id=session,
            query=question,
            code=source,
            error_message=error,
            stdin=stdin,
            expected_output=expected,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        message = first["msg"].removeprefix("Value error, ")
        raise typer.BadParameter(message, param_hint=_ASK_PARAMS.get(field, "QUESTION")) from exc
    _logging(logging.WARNING)
    asyncio.run(_ask(body, for_one_user(get_settings()), as_json=as_json))


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


async def _ask(body: TriageCreate, settings: Settings, *, as_json: bool) -> None:
    from learnflow.runtime import Runtime
    from learnflow.services.triage import service

    # The sandbox's start-up verdict is logged for operators of `serve`; a person asking one question gets
    # it once, in words, below — and nothing at all when isolation works.
    quiet = _DropRecords()
    checks = [logging.getLogger(name) for name in ("learnflow.sandbox", "learnflow.runtime")]
    for logger in checks:
        logger.addFilter(quiet)
    try:
        rt = Runtime(CATALOG, settings=settings)
        await rt.start()
    finally:
        for logger in checks:
            logger.removeFilter(quiet)
    _say_isolation(rt.sandbox.isolation, rt.sandbox.isolation_reason)
    try:
        row, answer = await service.ask(rt, body=body, timeout_s=60)
    finally:
        await rt.stop()
    if answer is None:
        console.print("[red]No answer arrived within 60 s.[/red]")
        raise typer.Exit(1)
    read = service.read(answer)
    if as_json:
        print(
            json.dumps(
                {"routed_to": row.routed_to, "confidence": row.confidence, **read.model_dump(mode="json")},
                indent=2,
            )
        )
        return
    subtitle = f"routed to {row.routed_to} ({row.confidence:.0%}) · source: {read.source}"
    console.print(Panel(Markdown(read.content), title=f"LearnFlow · {read.agent}", subtitle=subtitle, expand=True))


# What `ask` tells the person when the sandbox is not the isolated one, by isolation mode.
_ISOLATION_NOTES = {
    "none": "LearnFlow refuses to run code on this machine, so no program is run: {reason}",
    "rlimits": "Code runs WITHOUT namespace isolation (SANDBOX_ISOLATION=rlimits): it can read this machine's "
    "files and reach its network.",
}


def _say_isolation(isolation: str, reason: str) -> None:
    note = _ISOLATION_NOTES.get(isolation)
    if note is not None:
        Console(stderr=True).print(note.format(reason=reason), style="yellow", markup=False, highlight=False)


@app.command("eval")
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
    mutants: Annotated[
        int, typer.Option("--mutants", help="Mutants graded per exercise in the bank's mutation check (0: all).")
    ] = 0,
) -> None:
    """Measure the tutor: routing accuracy (and a keyword baseline), debug accuracy, the exercise bank."""
    from rich.table import Table

    from learnflow.curriculum import get_curriculum
    from learnflow.sandbox import Sandbox
    from learnflow.sandbox.grading import Grader
    from learnflow.tutor import datasets, evaluation
    from learnflow.tutor.localize_eval import LocalisationScore, evaluate_localisation

    _logging(logging.WARNING)
    curriculum = get_curriculum()
    sandbox = Sandbox(get_settings().sandbox)

    concepts = evaluation.evaluate_concepts(datasets.load_concepts(), curriculum)
    triage_set, concepts_set = datasets.load_independent()
    independent = {
        "triage": evaluation.evaluate_triage_independent(triage_set),
        "concepts": evaluation.evaluate_concepts(concepts_set, curriculum),
    }
    students = evaluation.evaluate_triage_students(datasets.load_students())
    feelings = evaluation.evaluate_feelings(datasets.load_feelings(), curriculum)
    answers: dict[str, evaluation.AnswerScore] = {}

    questions = datasets.load_concept_questions()

    async def run() -> tuple[
        dict[str, evaluation.Accuracy],
        evaluation.DebugScore,
        tuple[int, list[str]],
        LocalisationScore,
        evaluation.PastedScore,
        evaluation.BankMutation,
    ]:
        for engine, answerer in (
            ("topic_pages", evaluation.topic_page_answerer(curriculum)),
            ("knowledge_base", evaluation.knowledge_answerer(curriculum)),
        ):
            answers[engine] = await evaluation.evaluate_answers(questions, answerer, sandbox)
        triage = evaluation.evaluate_triage(datasets.load_triage())
        debug_score = await evaluation.evaluate_debug(
            datasets.load_buggy(), curriculum=curriculum, sandbox=sandbox, compare_reference=True
        )
        bank = await evaluation.check_bank(curriculum, Grader(sandbox))
        localisation = await evaluate_localisation(curriculum, sandbox)
        pasted = await evaluation.evaluate_pasted(datasets.load_pasted(), sandbox=sandbox, curriculum=curriculum)
        mutation = await evaluation.evaluate_bank_mutants(
            curriculum, Grader(sandbox), sandbox, limit=mutants if mutants > 0 else None
        )
        return triage, debug_score, bank, localisation, pasted, mutation

    triage, debug_score, bank, localisation, pasted, mutation = asyncio.run(run())
    if as_json:
        print(
            evaluation.summary_json(
                triage,
                debug_score,
                bank,
                concepts,
                independent,
                students,
                localisation=localisation,
                pasted_score=pasted,
                mutation=mutation,
                answers=answers,
                feelings=feelings,
            )
        )
        return
    table = Table(title="LearnFlow evaluation")
    table.add_column("measure")
    table.add_column("value", justify="right")
    router, baseline = triage["router"], triage["keyword_baseline"]
    table.add_row(f"triage accuracy (held-out {router.total})", f"{router.value:.1%}")
    table.add_row("hand-written rules, same split", f"{triage['rules'].value:.1%}")
    table.add_row("keyword router, same split", f"{baseline.value:.1%}")
    other = independent["triage"]
    table.add_row(f"triage, separately written set ({other['router'].total})", f"{other['router'].value:.1%}")
    table.add_row("keyword router, separately written set", f"{other['keyword_baseline'].value:.1%}")
    table.add_row(f"routing, students' style ({students['router'].total})", f"{students['router'].value:.1%}")
    for label in get_args(datasets.Route):
        per_label = students[f"router/{label}"]
        table.add_row(f"  students' style, {label} ({per_label.total})", f"{per_label.value:.1%}")
    table.add_row("hand-written rules, students' style", f"{students['rules'].value:.1%}")
    table.add_row("keyword router, students' style", f"{students['keyword_baseline'].value:.1%}")
    table.add_row(
        f"feelings, off-topic, homework handled as labelled ({feelings['now'].total})",
        f"{feelings['now'].value:.1%}",
    )
    table.add_row("  the same before triage read intents", f"{feelings['before'].value:.1%}")
    top1 = concepts["top1"]
    table.add_row(f"concepts topic, top-1 ({top1.total} questions)", f"{top1.value:.1%}")
    table.add_row("concepts topic, top-3", f"{concepts['top3'].value:.1%}")
    table.add_row("concepts keyword scorer alone", f"{concepts['keywords'].value:.1%}")
    table.add_row("concepts title-in-question baseline", f"{concepts['baseline'].value:.1%}")
    other_concepts = independent["concepts"]
    table.add_row(
        f"concepts topic, separately written set ({other_concepts['top1'].total})",
        f"{other_concepts['top1'].value:.1%}",
    )
    for engine, got in answers.items():
        table.add_row(f"concepts answers with all their facts, {engine} ({got.total})", f"{got.answered_share:.1%}")
        table.add_row(f"  examples that run as shown, {engine} ({got.examples})", f"{got.examples_share:.1%}")
    n = max(debug_score.total, 1)
    table.add_row(f"debug exception type ({debug_score.total} programs)", f"{debug_score.type_correct / n:.1%}")
    table.add_row("debug line", f"{debug_score.line_correct / n:.1%}")
    table.add_row("debug verified fix (prints the expected output)", f"{debug_score.fixed / n:.1%}")
    table.add_row(
        "verified fixes printing what the reference fix prints",
        f"{debug_score.fix_matches_reference}/{debug_score.fixed}",
    )
    table.add_row("debug suggested fix (nothing to verify it against)", f"{debug_score.suggested / n:.1%}")
    table.add_row(
        "suggestions printing what the reference fix prints",
        f"{debug_score.suggestion_matches_reference}/{debug_score.suggested}",
    )
    table.add_row(
        f"case-specific explanation ({debug_score.with_exception} with an exception)",
        f"{debug_score.specific / max(debug_score.with_exception, 1):.1%}",
    )
    table.add_row(
        f"logic bugs with a named cause ({debug_score.logic_total})",
        f"{debug_score.logic_named / max(debug_score.logic_total, 1):.1%}",
    )
    table.add_row(
        "logic bugs with a fix printing the expected output",
        f"{debug_score.logic_fixed / max(debug_score.logic_total, 1):.1%}",
    )
    loc = localisation
    table.add_row(f"logic-bug localisation, top-1 ({loc.mutants} caught mutants)", f"{loc.rate(loc.top1):.1%}")
    table.add_row("logic-bug localisation, top-3", f"{loc.rate(loc.top3):.1%}")
    table.add_row("mutants with a verified fix", f"{loc.rate(loc.verified_fix):.1%}")
    table.add_row("verified fixes failing a test (must be 0)", str(loc.verified_fix_failing_grader))
    p = max(pasted.total, 1)
    table.add_row(f"pasted traceback: type, line and message ({pasted.total} cases)", f"{pasted.all_correct / p:.1%}")
    table.add_row(
        "pasted traceback: type / line / message",
        f"{pasted.type_correct / p:.0%} / {pasted.line_correct / p:.0%} / {pasted.message_correct / p:.0%}",
    )
    table.add_row(
        f"pasted traceback reproduced by rerunning the call ({pasted.with_call})",
        f"{pasted.reproduced / max(pasted.with_call, 1):.1%}",
    )
    table.add_row(
        "pasted traceback, the debug answer end to end: type and line (8.6% before)", f"{pasted.answer_line / p:.1%}"
    )
    table.add_row(f"exercise bank ({bank[0]} exercises)", "sound" if not bank[1] else f"{len(bank[1])} problems")
    table.add_row(
        f"bank mutants killed ({mutation.mutants} mutants: {mutation.killed} killed, "
        f"{mutation.equivalent} equivalent, {mutation.missed} missed, {mutation.seconds:.0f} s)",
        f"{mutation.kill_rate:.1%}",
    )
    console.print(table)
    for (expected, routed), count in router.confusion.most_common(5):
        console.print(f"  triage: {count} x {expected} routed to {routed}")
    for (expected, routed), count in students["router"].confusion.most_common(3):
        console.print(f"  routing, students' style: {count} x {expected} routed to {routed}")
    for (expected, matched), count in top1.confusion.most_common(5):
        console.print(f"  concepts: {count} x {expected} matched as {matched}")
    for unanswered in answers["knowledge_base"].misses[:10]:
        console.print(f"  concepts answer miss: {unanswered}")
    for miss in sorted(debug_score.misses)[:10]:
        console.print(f"  debug miss: {miss}")
    for miss in sorted(pasted.misses)[:10]:
        console.print(f"  pasted miss: {miss}")
    for problem in bank[1]:
        console.print(f"  bank: {problem}")
    for miss in mutation.misses()[:10]:
        console.print(f"  mutant survives: {miss}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from learnflow.db import Database

    settings = get_settings()
    database = Database(settings.database_url)

    async def run() -> None:
        try:
            await database.upgrade()
        finally:
            await database.dispose()

    asyncio.run(run())
    console.print(f"Database is up to date: {database.engine.url.render_as_string(hide_password=True)}")


@kafka_app.command("create-topics")
def kafka_create_topics(
    bootstrap: Annotated[str | None, typer.Option(help="Brokers; default KAFKA_BOOTSTRAP_SERVERS.")] = None,
) -> None:
    """Create the nine topics and their DLQs with their partitions and retention."""
    from learnflow.bus.kafka import all_topic_specs, create_topics

    settings = get_settings().bus
    servers = bootstrap or settings.kafka_bootstrap_servers
    created = asyncio.run(
        create_topics(servers, replication_factor=settings.kafka_replication_factor, prefix=settings.kafka_topic_prefix)
    )
    for spec in all_topic_specs(settings.kafka_topic_prefix):
        state = "created" if spec.name in created else "exists"
        console.print(f"{spec.name:<32} {spec.partitions} partitions  {spec.retention_days:>2} days  {state}")


@docs_app.command("generate")
def docs_generate(out: Annotated[Path, typer.Option(help="Docs folder.")] = DOCS_DIR) -> None:
    """Write the JSON Schemas and the AsyncAPI document generated from the event types."""
    from learnflow.events import docs

    for path in docs.write(out):
        console.print(f"wrote {path}")


@docs_app.command("openapi")
def docs_openapi(
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("frontend/openapi.json"),
) -> None:
    """Write the HTTP API's OpenAPI schema (the web app's client is generated from it: `npm run gen`)."""
    from learnflow.services.app import create_app

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")


@models_app.command("export")
def models_export(
    out: Annotated[Path | None, typer.Option(help="Folder; default the installed package's own.")] = None,
) -> None:
    """Train the text models with scikit-learn and save them, so they run where it is not installed."""
    from learnflow import textmodel
    from learnflow.curriculum import load as load_curriculum
    from learnflow.tutor.offtopic import OffTopicModel
    from learnflow.tutor.router_model import get_model

    router = get_model()
    if router is None:
        raise typer.BadParameter("the triage dataset is missing: nothing to train the router on")
    directory = out or textmodel.EXPORT_DIR
    curriculum = load_curriculum()
    models = (
        ("router", router.model),
        ("topics", curriculum.topic_model.model),
        ("offtopic", OffTopicModel(curriculum).model),
    )
    for name, model in models:
        path = textmodel.export(name, model, directory)
        console.print(f"wrote {path} ({path.stat().st_size // 1024} KiB, {len(model.classes)} classes)")


def _with_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on the configured database (brought up to date first)."""
    from learnflow.db import Database

    settings = get_settings()
    database = Database(settings.database_url, connect_timeout_s=settings.db.connect_timeout_s)

    async def run() -> T:
        try:
            await database.upgrade()
            async with database.session() as session, session.begin():
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


async def _account_id(session: AsyncSession, name: str) -> str:
    """The id of the account named ``name`` (username or id); the name itself when no account has it.

    Accounts of the identity provider may never have signed in here, and with authentication off there
    are none: their ids are taken as given.
    """
    from sqlalchemy import or_, select

    from learnflow.db.models import User

    found = (
        await session.execute(select(User.id).where(or_(User.username == name, User.id == name)).limit(1))
    ).scalar_one_or_none()
    return found or name


@classes_app.command("create")
def classes_create(
    name: Annotated[str, typer.Argument(help="The class's name.")],
    teacher: Annotated[str, typer.Option("--teacher", help="The teacher's username or id.")],
) -> None:
    """Create a class taught by TEACHER; print its id."""
    from learnflow.auth import classes

    async def work(session: AsyncSession) -> tuple[str, str]:
        row = classes.create(session, name=name, teacher_id=await _account_id(session, teacher))
        return row.id, row.teacher_id

    class_id, teacher_id = _with_database(work)
    console.print(f"created class {class_id} ({name}), taught by {teacher_id}")


@classes_app.command("add")
def classes_add(
    class_id: Annotated[str, typer.Argument(metavar="CLASS", help="The class's id.")],
    students: Annotated[list[str], typer.Argument(metavar="STUDENT...", help="Usernames or ids.")],
) -> None:
    """Put students in a class."""
    from learnflow.auth import classes

    async def work(session: AsyncSession) -> list[str]:
        await classes.get(session, class_id=class_id)
        ids = [await _account_id(session, s) for s in students]
        return await classes.add_students(session, class_id=class_id, student_ids=ids)

    try:
        added = _with_database(work)
    except NotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="CLASS") from None
    console.print(f"added {len(added)} student(s) to {class_id}: {', '.join(added) or 'all were in it already'}")


@classes_app.command("remove")
def classes_remove(
    class_id: Annotated[str, typer.Argument(metavar="CLASS", help="The class's id.")],
    students: Annotated[list[str], typer.Argument(metavar="STUDENT...", help="Usernames or ids.")],
) -> None:
    """Take students out of a class."""
    from learnflow.auth import classes

    async def work(session: AsyncSession) -> list[str]:
        await classes.get(session, class_id=class_id)
        removed = []
        for student in students:
            student_id = await _account_id(session, student)
            if await classes.remove_student(session, class_id=class_id, student_id=student_id):
                removed.append(student_id)
        return removed

    try:
        removed = _with_database(work)
    except NotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="CLASS") from None
    console.print(f"removed {len(removed)} student(s) from {class_id}: {', '.join(removed) or 'none was in it'}")


@classes_app.command("list")
def classes_list(
    teacher: Annotated[str | None, typer.Option("--teacher", help="Only this teacher's classes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the classes as JSON.")] = False,
) -> None:
    """List classes with their teacher and students."""
    from learnflow.auth import classes

    async def work(session: AsyncSession) -> list[tuple[str, str, str, list[str]]]:
        teacher_id = await _account_id(session, teacher) if teacher else None
        return [
            (row.id, row.name, row.teacher_id, await classes.members(session, class_id=row.id))
            for row in await classes.list_(session, teacher_id=teacher_id)
        ]

    found = _with_database(work)
    if as_json:
        keys = ("class_id", "name", "teacher_id", "student_ids")
        typer.echo(json.dumps([dict(zip(keys, row, strict=True)) for row in found], indent=2))
        return
    if not found:
        console.print("no classes yet: create one with `learnflow classes create NAME --teacher T`")
    for class_id, name, teacher_id, members in found:
        console.print(f"{class_id}  {name}  teacher {teacher_id}  {len(members)} student(s)")
        if members:
            console.print("    " + ", ".join(members))


def _new_password(username: str, *, from_stdin: bool) -> str:
    """A password from stdin (one line) or a hidden prompt typed twice; checked against the policy here."""
    import sys

    from learnflow.auth.passwords import check_policy
    from learnflow.errors import Unprocessable

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_policy(password, username=username)
    except Unprocessable as exc:
        raise typer.BadParameter(exc.message, param_hint="password") from None
    return password


def _in_accounts(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` on the local accounts in one transaction; a refused change is an error line, not a trace."""
    from learnflow.errors import LearnFlowError

    if get_settings().auth.provider != "local":
        raise typer.BadParameter("AUTH_PROVIDER=oidc: accounts live in the identity provider, not here")
    try:
        return _with_database(work)
    except LearnFlowError as exc:
        Console(stderr=True).print(f"Error: {exc.message}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Username: 3-64 letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option(help="student, teacher or admin.")] = "student",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Create a local account; the password is asked for (hidden, twice) unless --password-stdin."""
    from learnflow.auth import accounts
    from learnflow.auth.identity import Role

    if role not in {str(r) for r in Role}:
        raise typer.BadParameter(f"choose from {', '.join(Role)}", param_hint="--role")
    username = accounts.normalize_username(name)
    password = _new_password(username, from_stdin=password_stdin)

    async def add(session: AsyncSession) -> str:
        user = await accounts.create(session, username=username, password=password, role=Role(role))
        return user.id

    user_id = _in_accounts(add)
    console.print(f"Created {role} {username} (id {user_id}).", markup=False, highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List the accounts: username, role, state and id."""
    from learnflow.auth import accounts

    async def rows(session: AsyncSession) -> list[tuple[str, str, str, str]]:
        return [
            (u.username, u.role, "disabled" if u.disabled else "active", u.id)
            for u in await accounts.list_users(session)
        ]

    for username, role, state, user_id in _in_accounts(rows):
        console.print(f"{username:<24} {role:<8} {state:<8} {user_id}", markup=False, highlight=False)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="Username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Set an account's password (and end its sessions); also lifts a lock."""
    from learnflow.auth import accounts
    from learnflow.errors import NotFound

    username = accounts.normalize_username(name)
    password = _new_password(username, from_stdin=password_stdin)

    async def passwd(session: AsyncSession) -> None:
        user = await accounts.get_by_username(session, username=username)
        if user is None:
            raise NotFound(f"no account named {username!r}")
        await accounts.change_password(session, user=user, current=None, new=password)

    _in_accounts(passwd)
    console.print(f"Password of {username} changed; its sessions are signed out.", markup=False, highlight=False)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Disable an account: it can no longer sign in, and its sessions end."""
    from learnflow.auth import accounts
    from learnflow.errors import NotFound

    username = accounts.normalize_username(name)

    async def disable(session: AsyncSession) -> None:
        user = await accounts.get_by_username(session, username=username)
        if user is None:
            raise NotFound(f"no account named {username!r}")
        await accounts.disable(session, user=user)

    _in_accounts(disable)
    console.print(f"Disabled {username}.", markup=False, highlight=False)


if __name__ == "__main__":
    app()
