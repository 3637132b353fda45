"""The letterforge command line: parse arguments, call one library function, show its result."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from letterforge import __version__
from letterforge.diagnostics import UserError
from letterforge.kinds import KIND_NAMES
from letterforge.records import LetterStatus, lasting_imports

if TYPE_CHECKING:
    from letterforge.pipeline import Ledger, LedgerLetter, Workspace

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _workspace_path(value: Path | None) -> Path:
    if value is not None:
        return value
    context = click.get_current_context()
    group_value = context.find_root().params.get("workspace")
    return group_value or Path(os.environ.get("LETTERFORGE_WORKSPACE") or os.curdir)


def workspace_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """-w/--workspace on every command (it may also stand before the command)."""
    return click.option("-w", "--workspace", type=click.Path(path_type=Path, file_okay=False), default=None,
                        help="The creditor's workspace folder (default: LETTERFORGE_WORKSPACE or the current folder).")(function)


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--format", "output_format", type=click.Choice(choices), default=choices[0],
                        show_default=True, help="How to print the result.")


def as_of_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                        help="The date the letters and amounts are computed for (default: today).")(function)


def _as_of(value: datetime | None) -> date:
    # The only place the clock is read: everything below takes the as-of date as a parameter.
    return value.date() if value is not None else date.today()


def _open_workspace(path: Path | None) -> Workspace:
    from letterforge.pipeline import Workspace

    return Workspace.open(_workspace_path(path))


def _echo_problems(problems: Iterable[object]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


class LetterforgeGroup(click.Group):
    """Turns a user's mistake into one clear line and exit 1, and a bug into exit 3: no traceback
    reaches a user unless they ask for it with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: {error}", err=True)
            ctx.exit(EXIT_PROBLEMS)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except Exception as error:  # a bug: say so plainly, keep the traceback behind --debug
            if ctx.params.get("debug"):
                raise
            click.echo(f"internal error ({type(error).__name__}: {error}); rerun with --debug and report it",
                       err=True)
            ctx.exit(3)


@click.group(cls=LetterforgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-w", "--workspace", type=click.Path(path_type=Path, file_okay=False), default=None,
              envvar="LETTERFORGE_WORKSPACE",
              help="The creditor's workspace folder (default: LETTERFORGE_WORKSPACE or the current folder).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(__version__, prog_name="letterforge")
def cli(workspace: Path | None, debug: bool) -> None:
    """letterforge: reminder notices, demand letters and lawyer's letters from your debtor data."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--example", type=click.Choice(["property-zh", "water-zh", "receivables-en"]), required=True,
              help="The sample workspace to start from.")
def init(directory: Path, example: str) -> None:
    """Create a workspace in DIRECTORY from a bundled sample."""
    from letterforge.pipeline import init_workspace

    created = init_workspace(directory, example)
    click.echo(f"created workspace {created} from the {example} sample; next: letterforge -w {created} validate")


@cli.command()
@workspace_option
@format_option("text", "json")
@click.option("--worker", is_flag=True, help="Check a machine that renders for a batch elsewhere (a Dask worker): "
              "fonts, HarfBuzz subsetting and a test letter; no workspace.")
def doctor(workspace: Path | None, output_format: str, worker: bool) -> None:
    """Check that this machine can make letters, and say how to fix what is missing."""
    from letterforge.pipeline import run_checks, run_worker_checks
    from letterforge.reports import to_json

    checks = run_worker_checks() if worker else run_checks(_workspace_path(workspace))
    if output_format == "json":
        click.echo(to_json([check.__dict__ for check in checks]))
    else:
        for check in checks:
            fix = f"  -> fix: {check.fix}" if not check.ok and check.fix else ""
            click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}{fix}")
    sys.exit(EXIT_OK if all(check.ok for check in checks) else EXIT_PROBLEMS)


@cli.command()
@workspace_option
@format_option("text", "json")
@click.option("--rejects", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the rejected rows (default: WORKSPACE/rejects).")
def validate(workspace: Path | None, output_format: str, rejects: Path | None) -> None:
    """Check the workspace's data files; report every problem as file:row: column: message."""
    from letterforge.pipeline import validate_workspace
    from letterforge.reports import diagnostics_json

    report = validate_workspace(_open_workspace(workspace), rejects)
    data = report.data
    counts = {"accounts": len(data.accounts), "arrears": len(data.arrears), "history": len(data.history),
              "rejected_rows": len(data.rejects)}
    if output_format == "json":
        click.echo(diagnostics_json(report.diagnostics, **counts,
                                    rejects_files=[str(p) for p in report.rejects_files],
                                    warnings=[w.as_dict() for w in data.warnings + report.settings_warnings]))
    else:
        _echo_problems(report.diagnostics)
        _echo_problems(report.settings_warnings)
        click.echo(f"{counts['accounts']} accounts, {counts['arrears']} arrears items, "
                   f"{counts['history']} earlier letters read; {len(report.diagnostics)} problem(s), "
                   f"{counts['rejected_rows']} row(s) rejected")
        for path in report.rejects_files:
            click.echo(f"rejected rows with their reasons: {path}")
    sys.exit(EXIT_PROBLEMS if report.diagnostics else EXIT_OK)


@cli.command()
@click.argument("accounts", nargs=-1)
@click.option("--all", "all_accounts", is_flag=True, help="Every account of the workspace.")
@workspace_option
@as_of_option
@format_option("table", "json")
def statement(accounts: tuple[str, ...], all_accounts: bool, workspace: Path | None, as_of: datetime | None,
              output_format: str) -> None:
    """Show what ACCOUNTS owe on the as-of date: items, days overdue, late fees, total."""
    from letterforge.pipeline import compute_statements, limitation_of
    from letterforge.reports import statement_dict, statement_text, to_json

    if bool(accounts) == all_accounts:
        raise click.UsageError("give one or more ACCOUNTS, or --all")
    opened = _open_workspace(workspace)
    data = opened.load_data()
    statements = compute_statements(opened, accounts, _as_of(as_of), data)
    flags = limitation_of(opened, statements, data)
    if output_format == "json":
        click.echo(to_json([statement_dict(s, flags.get(s.account.account_id, ())) for s in statements]))
    else:
        click.echo("\n\n".join(statement_text(s, opened.config.locale, flags.get(s.account.account_id, ()))
                                for s in statements))
    # A statement missing rejected rows of its account understates or misstates what is owed; with
    # --all, an account whose own row was rejected is missing from the list altogether.
    incomplete = [s.account.account_id for s in statements if s.account.account_id in data.accounts_with_rejected_rows]
    if incomplete:
        shown = ", ".join(incomplete[:10]) + (f" and {len(incomplete) - 10} more" if len(incomplete) > 10 else "")
        click.echo(f"error: rows of {shown} were rejected, so their statements above leave them out; "
                   "run `letterforge validate` and fix them", err=True)
    if data.diagnostics:
        click.echo(f"warning: {len(data.diagnostics)} data problem(s); rejected rows are left out "
                   "(run `letterforge validate`)", err=True)
    sys.exit(EXIT_PROBLEMS if incomplete or (all_accounts and data.diagnostics) else EXIT_OK)


@cli.command()
@click.argument("accounts", nargs=-1)
@click.option("--all", "all_accounts", is_flag=True, help="Every account with overdue arrears and no hold (with --draft).")
@click.option("--kind", type=click.Choice(KIND_NAMES), required=True,
              help="Which letter of the ladder.")
@workspace_option
@as_of_option
@click.option("--format", "output_format", type=click.Choice(["pdf", "docx", "html"]), default="pdf",
              show_default=True, help="PDF to print, DOCX to edit in Word/WPS, HTML to preview (drafts only).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="File (one letter) or folder (default: the current folder).")
@click.option("--draft", is_flag=True, help="An unnumbered preview watermarked 草稿/DRAFT, for any account and kind; "
              "nothing is recorded.")
@click.option("--force", is_flag=True, help="Issue the letter although the ladder's rules do not call for it now.")
@click.option("--reason", default="", help="Why, with --force (kept in the ledger).")
def render(accounts: tuple[str, ...], all_accounts: bool, kind: str, workspace: Path | None, as_of: datetime | None,
           output_format: str, output: Path | None, draft: bool, force: bool, reason: str) -> None:
    """Issue the KIND letter to ACCOUNTS now, numbered and recorded as the batch does (or --draft)."""
    with lasting_imports():
        from letterforge.pipeline import (LetterKind, draft_letters, issue_letters, letter_paths, unsealed_note,
                                          write_atomic)

    if bool(accounts) == all_accounts:
        raise click.UsageError("give one or more ACCOUNTS, or --all")
    if all_accounts and not draft:
        raise click.UsageError("--all previews every account with --draft; the day's letters are issued by `batch`")
    if force != bool(reason.strip()) or (force and draft):
        raise click.UsageError("--force needs --reason \"…\" (and issues a letter, so not with --draft)")
    opened = _open_workspace(workspace)
    if draft:
        made = draft_letters(opened, accounts, LetterKind(kind), _as_of(as_of), output_format)
    else:
        made = issue_letters(opened, accounts, LetterKind(kind), _as_of(as_of), output_format, _now, reason.strip())
    for item, path in zip(made, letter_paths([item.letter.file_name for item in made], output)):
        write_atomic(path, item.letter.content)
        letter = item.letter.draft
        if draft:
            verdict = "the rules allow it now" if item.eligible else f"the rules do not call for it now: {item.why}"
            click.echo(f"wrote {path}  (draft, not issued; {verdict})")
            if not item.letter.proof.ok:
                click.echo(item.letter.proof.summary(f"{path} (draft)", stopped=False), err=True)
        else:
            forced = f"; forced: {item.forced}" if item.forced else ""
            click.echo(f"wrote {path}  ({letter.reference}, deadline {letter.deadline.isoformat()}, recorded in the "
                       f"ledger{forced})")
    note = "" if draft or output_format != "pdf" else unsealed_note(opened.config.signing, {kind})
    if note:
        click.echo(f"note: {note}")


@cli.group()
def clauses() -> None:
    """The legal clause library: list, check, preview, compare and record clause versions."""


@clauses.command("list")
@workspace_option
@click.option("--kind", type=click.Choice(KIND_NAMES), default=None)
@click.option("--locale", default=None, help="zh-CN or en-GB")
@format_option("table", "json")
def clauses_list(workspace: Path | None, kind: str | None, locale: str | None, output_format: str) -> None:
    """Every clause: id, version, slot, kinds, creditor types, status, effective dates, approval."""
    from letterforge.pipeline import clause_folders, load_clause_library
    from letterforge.reports import clause_rows, format_table, to_json

    library = load_clause_library(clause_folders(_open_workspace(workspace)))
    rows = clause_rows(library, kind, locale)
    if output_format == "json":
        click.echo(to_json(rows))
    else:
        headings = tuple(rows[0]) if rows else ("id",)
        click.echo(format_table(headings, [tuple(str(r[h]) for h in headings) for r in rows], set()))
    _echo_problems(library.diagnostics)


@clauses.command("check")
@workspace_option
@as_of_option
@format_option("text", "json")
def clauses_check(workspace: Path | None, as_of: datetime | None, output_format: str) -> None:
    """Report every clause problem as file:line: message; exit 1 if there is any."""
    from letterforge.pipeline import check_clause_library
    from letterforge.reports import diagnostics_json

    problems = check_clause_library(_open_workspace(workspace), _as_of(as_of))
    if output_format == "json":
        click.echo(diagnostics_json(problems))
    else:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{len(problems)} problem(s)", err=True)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


@clauses.command("index")
@workspace_option
def clauses_index(workspace: Path | None) -> None:
    """Record the text hash of approved clause versions, so a later change without a new version is caught."""
    from letterforge.pipeline import index_clause_library

    added, problems = index_clause_library(_open_workspace(workspace))
    for label in added:
        click.echo(f"recorded {label}")
    _echo_problems(problems)
    click.echo(f"{len(added)} clause version(s) recorded")
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


@clauses.command("preview")
@click.argument("clause_id")
@click.option("--version", default="", help="Which version (default: the latest).")
@click.option("--account", default="", help="Fill it with this account's data (default: the first that fits).")
@workspace_option
@as_of_option
@click.option("--format", "output_format", type=click.Choice(["pdf", "html", "docx"]), default="pdf",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="File or folder for the letter.")
def clauses_preview(clause_id: str, version: str, account: str, workspace: Path | None, as_of: datetime | None,
                    output_format: str, output: Path | None) -> None:
    """Show CLAUSE_ID filled in, and write the whole letter with it in place (a draft is watermarked)."""
    from letterforge.pipeline import letter_paths, preview_clause, safe_file_name, write_atomic

    preview = preview_clause(_open_workspace(workspace), clause_id, version, account, _as_of(as_of), output_format)
    click.echo(f"{preview.clause.label} ({preview.clause.status}) in slot {preview.clause.slot!r}, "
               f"account {preview.letter.draft.account_id}:")
    for paragraph in preview.paragraphs:
        click.echo(f"  {paragraph}")
    (path,) = letter_paths([f"preview-{safe_file_name(preview.clause.label, unique_ignoring_case=False)}.{output_format}"], output)
    write_atomic(path, preview.letter.content)
    click.echo(f"wrote {path}")
    if not preview.letter.proof.ok:
        click.echo(preview.letter.proof.summary(f"{path} (preview)", stopped=False), err=True)


@clauses.command("diff")
@click.argument("clause_id")
@click.option("--from", "old", default="", help="Older version.")
@click.option("--to", "new", default="", help="Newer version.")
@workspace_option
def clauses_diff(clause_id: str, old: str, new: str, workspace: Path | None) -> None:
    """What changed between two versions of a clause (default: the last two)."""
    from letterforge.pipeline import diff_clause

    click.echo(diff_clause(_open_workspace(workspace), clause_id, old, new), nl=False)


def _now() -> datetime:
    # Ledger events carry the wall-clock time they happened; letters never read it.
    return datetime.now().astimezone()


def _open_ledger(workspace: Workspace, read_only: bool = False) -> Ledger:
    from letterforge.pipeline import open_ledger, read_ledger

    return read_ledger(workspace.path) if read_only else open_ledger(workspace.path, _now)


@cli.command()
@workspace_option
@as_of_option
@click.option("--days", type=click.IntRange(1, 366), default=None, help="Working days to plan (default: the policy's).")
@click.option("--explain", "explain_account", default=None, metavar="ACCOUNT", help="Say why ACCOUNT gets which letter.")
@format_option("table", "json")
def plan(workspace: Path | None, as_of: datetime | None, days: int | None, explain_account: str | None, output_format: str) -> None:
    """Show which letters go out on which day (staggered), with totals; writes nothing."""
    from letterforge.pipeline import explain, plan_letters
    from letterforge.reports import plan_dict, plan_text, to_json

    opened = _open_workspace(workspace)
    ledger = _open_ledger(opened, read_only=True)
    try:
        day_plan = plan_letters(opened, opened.load_data(), ledger, _as_of(as_of), days)
    finally:
        ledger.close()
    if explain_account:
        click.echo(explain(day_plan, explain_account))
    elif output_format == "json":
        click.echo(to_json(plan_dict(day_plan.plan)))
    else:
        click.echo(plan_text(day_plan.plan))


def _scheduler_option(_context: click.Context, _parameter: click.Parameter, value: str | None) -> str | None:
    from letterforge.pipeline import scheduler_address

    try:
        return scheduler_address(value) if value is not None else None
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@workspace_option
@as_of_option
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder (default: WORKSPACE/out); the day's files go to OUT/<date>/.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: the cores).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Where letters are rendered: local worker processes, or a Dask cluster "
                   "(default: [batch] executor, else local).")
@click.option("--scheduler", callback=_scheduler_option, default=None,
              help="The Dask scheduler, tcp://HOST:PORT (default: [batch] scheduler).")
@click.option("--dry-run", is_flag=True, help="Say what would be issued today; write nothing.")
@format_option("text", "json")
def batch(workspace: Path | None, as_of: datetime | None, out: Path | None, jobs: int | None, executor: str | None,
          scheduler: str | None, dry_run: bool, output_format: str) -> None:
    """The daily run (for cron): decide, stagger, render today's letters, print pack, manifest, ledger."""
    from letterforge.pipeline import choose_executor, run_batch
    from letterforge.reports import batch_dict, batch_text, to_json

    if jobs is not None and (executor == "dask" or scheduler):
        raise click.UsageError("--jobs is for --executor local; a Dask cluster's size is its workers'")
    if scheduler and executor == "local":
        raise click.UsageError("--scheduler is for --executor dask")
    opened = _open_workspace(workspace)
    done = [0]

    def progress(_letter: LedgerLetter) -> None:
        # On a terminal, a running count; under cron, nothing but the summary.
        done[0] += 1
        click.echo(f"\r{done[0]} letter(s) rendered", nl=False, err=True)

    terminal = sys.stderr.isatty() and output_format == "text"
    chosen = None if dry_run else choose_executor(opened, executor, scheduler, jobs)
    report = run_batch(opened, _as_of(as_of), out or opened.path / "out", jobs or 1, _now, dry_run,
                       progress=progress if terminal else None, executor=chosen)
    if terminal and done[0]:
        click.echo(err=True)
    click.echo(to_json(batch_dict(report)) if output_format == "json" else batch_text(report))
    sys.exit(report.exit_code)


@cli.command()
@workspace_option
@as_of_option
@click.option("--resend", multiple=True, metavar="REF",
              help="Send this letter's e-mail again on purpose (its last one is unknown, failed or returned).")
@click.option("--bounces", type=click.Path(path_type=Path, exists=True), default=None, metavar="FILE_OR_MAILDIR",
              help="Record the delivery status notifications (bounces) in a file, a Maildir or a folder of .eml.")
@click.option("--confirm", default=None, metavar="REF",
              help="Record REF's unknown e-mail as sent, from the mail server's log (with --server-log).")
@click.option("--server-log", default=None, metavar="LINE",
              help="The mail server's log line that shows the message accepted; it must name its Message-ID.")
@format_option("text", "json")
def send(workspace: Path | None, as_of: Any, resend: tuple[str, ...], bounces: Path | None, confirm: str | None,
         server_log: str | None, output_format: str) -> None:
    """E-mail the letters issued on the as-of day that go by e-mail, once each; or record bounces;
    or confirm an unknown outcome from the mail server's log."""
    from letterforge.pipeline import confirm_sent, send_day, workspace_lock
    from letterforge.reports import send_dict, send_text, to_json

    if (confirm is None) != (server_log is None):
        raise click.UsageError("--confirm REF and --server-log LINE go together")
    if confirm is not None and (resend or bounces):
        raise click.UsageError("--confirm goes alone, without --resend or --bounces")
    opened = _open_workspace(workspace)
    with workspace_lock(opened):  # not beside a batch or another send: each letter is e-mailed once
        book = _open_ledger(opened)
        try:
            if confirm is not None:
                report = confirm_sent(book, _as_of(as_of), confirm, server_log or "")
            else:
                report = send_day(opened, book, _as_of(as_of), resend, bounces)
        finally:
            book.close()
    click.echo(to_json(send_dict(report)) if output_format == "json" else send_text(report))
    sys.exit(report.exit_code)


@cli.command()
@click.argument("reference")
@workspace_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The zip file to write, e.g. bundle.zip.")
def evidence(reference: str, workspace: Path | None, output: Path) -> None:
    """Write REFERENCE's evidence bundle: the issued letter, the e-mails sent, the ledger's events,
    the hashes and a summary in the letter's language."""
    from letterforge.pipeline import evidence_bundle, write_atomic

    opened = _open_workspace(workspace)
    book = _open_ledger(opened, read_only=True)
    try:
        bundle = evidence_bundle(opened, book, reference)
    finally:
        book.close()
    write_atomic(output, bundle.content)
    click.echo(f"wrote {output} ({len(bundle.files) + 1} files)")


@cli.group()
def ledger() -> None:
    """The record of every letter: list, show, record delivery or return, export for the evidence file."""


@ledger.command("list")
@workspace_option
@click.option("--account", default=None)
@click.option("--kind", type=click.Choice(KIND_NAMES), default=None)
@click.option("--status", type=click.Choice([status.value for status in LetterStatus]),
              default=None)
@format_option("table", "json")
def ledger_list(workspace: Path | None, account: str | None, kind: str | None, status: str | None,
                output_format: str) -> None:
    """Letters in the ledger, oldest first."""
    from letterforge.reports import ledger_rows, format_table, to_json

    book = _open_ledger(_open_workspace(workspace), read_only=True)
    rows = ledger_rows(book.letters(account, kind, status))
    book.close()
    if output_format == "json":
        click.echo(to_json(rows))
    elif rows:
        headings = ("reference", "account_id", "kind", "status", "planned_on", "issued_on", "deadline", "total")
        click.echo(format_table(headings, [tuple(str(r[h] or "") for h in headings) for r in rows], {7}))


@ledger.command("show")
@click.argument("reference")
@workspace_option
@format_option("text", "json")
def ledger_show(reference: str, workspace: Path | None, output_format: str) -> None:
    """One letter with its events."""
    from letterforge.pipeline import archived_file
    from letterforge.reports import to_json

    opened = _open_workspace(workspace)
    book = _open_ledger(opened, read_only=True)
    letter, events, sends = book.letter(reference), book.events(reference), book.sends(reference)
    book.close()
    archived = str(archived_file(opened.path, letter).relative_to(opened.path)) if letter.pdf_sha256 else None
    record = {**letter.as_dict(), "archived_file": archived, "events": [e.__dict__ for e in events],
              "sends": [s.as_dict() for s in sends]}
    if output_format == "json":
        click.echo(to_json(record))
        return
    for key, value in record.items():
        if key not in ("events", "sends"):
            click.echo(f"{key}: {' '.join(value) if isinstance(value, list) else value if value is not None else ''}")
    for event in events:
        click.echo(f"  {event.at}  {event.event}  {event.detail}")
    for send in sends:
        click.echo(f"  {send.channel} {send.status}: {send.address} {send.message_id} sha256 {send.sha256} "
                   f"({send.answer})")


@ledger.command("deliver")
@click.argument("reference")
@workspace_option
@click.option("--method", required=True, help="e.g. ems, registered-mail, hand, courier")
@click.option("--tracking", default="", help="The tracking number.")
@click.option("--on", "delivered_on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
def ledger_deliver(reference: str, workspace: Path | None, method: str, tracking: str, delivered_on: datetime) -> None:
    """Record proof of delivery (for the limitation period, Civil Code art. 195)."""
    book = _open_ledger(_open_workspace(workspace))
    letter = book.deliver(reference, method, tracking, delivered_on.date())
    book.close()
    click.echo(f"{letter.reference}: delivered by {method} {tracking} on {delivered_on.date().isoformat()}".rstrip())


@ledger.command("return")
@click.argument("reference")
@workspace_option
@click.option("--reason", required=True, help="e.g. addressee unknown, refused")
@click.option("--on", "returned_on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
def ledger_return(reference: str, workspace: Path | None, reason: str, returned_on: datetime) -> None:
    """Record a letter that came back undelivered."""
    book = _open_ledger(_open_workspace(workspace))
    book.returned(reference, reason, returned_on.date())
    book.close()
    click.echo(f"{reference}: returned ({reason})")


@ledger.command("export")
@workspace_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="CSV file (default: standard output).")
def ledger_export(workspace: Path | None, output: Path | None) -> None:
    """Every letter and its events as CSV, for the evidence file."""
    from letterforge.pipeline import ledger_csv, write_atomic

    book = _open_ledger(_open_workspace(workspace), read_only=True)
    content = ledger_csv(book.letters(), book.events())
    book.close()
    if output is None:
        click.echo(content.decode("utf-8-sig"), nl=False)
    else:
        write_atomic(output, content)
        click.echo(f"wrote {output}")


@ledger.command("check")
@workspace_option
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Another output folder whose day folders to check too (default: those the batch used).")
@format_option("text", "json")
def ledger_check(workspace: Path | None, out: Path | None, output_format: str) -> None:
    """Check the ledger: SQLite integrity, gapless series, archived and day-folder files against their SHA-256,
    manifests against the ledger, letters left behind. One problem a line; exit 1 if any."""
    from letterforge.pipeline import check_ledger
    from letterforge.reports import to_json

    opened = _open_workspace(workspace)
    book = _open_ledger(opened, read_only=True)
    try:
        problems = check_ledger(opened, book, out)
    finally:
        book.close()
    if output_format == "json":
        click.echo(to_json({"problems": problems}))
    else:
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} problem(s)", err=True)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


@ledger.command("rebuild")
@workspace_option
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Another output folder whose day folders to read too (default: WORKSPACE/out).")
def ledger_rebuild(workspace: Path | None, out: Path | None) -> None:
    """Reconstruct a lost or damaged ledger from the day folders' manifests and the archive."""
    from letterforge.pipeline import rebuild_ledger

    report = rebuild_ledger(_open_workspace(workspace), _now, out)
    if report.moved_aside:
        click.echo(f"the damaged ledger was moved aside to {report.moved_aside}")
    click.echo(f"{len(report.recovered)} issued letter(s) recovered; {len(report.voided)} number(s) found unused "
               "between them, recorded as void so they are never given again")
    click.echo("not in the day folders, to record again if they matter: deliveries and returns "
               "(`ledger deliver`, `ledger return`) and holds (`hold`)")
    _echo_problems(report.problems)
    sys.exit(EXIT_PROBLEMS if report.problems else EXIT_OK)


@cli.command()
@click.argument("reference")
@workspace_option
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="File or folder.")
@click.option("--rerender", is_flag=True,
              help="Also make the letter again from its snapshot and say whether it still comes out the same.")
def reprint(reference: str, workspace: Path | None, output: Path | None, rerender: bool) -> None:
    """The issued letter REFERENCE again, byte for byte from the archive, checked against the ledger's SHA-256."""
    from letterforge.pipeline import letter_file_name, letter_paths, write_atomic, reprint as reprint_letter

    opened = _open_workspace(workspace)
    book = _open_ledger(opened, read_only=True)
    try:
        letter = book.letter(reference)
        result = reprint_letter(opened, book, reference, rerender)
    finally:
        book.close()
    (path,) = letter_paths([letter_file_name(letter.kind.value, letter.account_id, "pdf", tail="-reprint")], output)
    write_atomic(path, result.content)
    click.echo(f"wrote {path}: the issued bytes (SHA-256 {letter.pdf_sha256}, as the ledger records) from {result.source}")
    if result.rerendered is not None:
        click.echo("made again from its snapshot: " + ("the same bytes" if result.rerendered else
                   "the bytes differ (templates, clauses, fonts or libraries changed since); the issued letter "
                   "above is the one that counts"))


@cli.command()
@workspace_option
@as_of_option
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder (default: WORKSPACE/out); the day file goes to OUT/<date>/sms/.")
@click.option("--resend", multiple=True, metavar="REF",
              help="Send this letter's SMS again on purpose (its last one is unknown, unresolved or failed).")
@format_option("text", "json")
def sms(workspace: Path | None, as_of: Any, out: Path | None, resend: tuple[str, ...], output_format: str) -> None:
    """SMS notices of the letters issued on the day (where the settings, the debtor's consent and the
    law allow): through [sms] gateway when one is set, else the day file for upload to an SMS platform;
    each text recorded in the ledger. Exit 1 when any is failed, deferred, unknown through the gateway,
    or left unresolved by a stopped run."""
    from letterforge.reports import sms_dict, sms_text, to_json
    from letterforge.pipeline import run_sms

    opened = _open_workspace(workspace)
    report = run_sms(opened, _as_of(as_of), out or opened.path / "out", _now, resend)
    click.echo(to_json(sms_dict(report)) if output_format == "json" else sms_text(report))
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@workspace_option
@click.option("--trust", "trust_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A CA certificate (PEM or DER) to trust, besides [signing] trust; repeatable.")
@format_option("text", "json")
def verify(file: Path, workspace: Path | None, trust_files: tuple[Path, ...], output_format: str) -> None:
    """Check a letter's signatures and find it in the ledger by its SHA-256; exit 0 when it is signed,
    intact, trusted and issued by this workspace, 1 otherwise (with the reasons)."""
    from letterforge.pipeline import verify_file
    from letterforge.reports import to_json, verification_text

    result = verify_file(_open_workspace(workspace), file, list(trust_files))
    click.echo(to_json(result.as_dict()) if output_format == "json" else verification_text(result))
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEMS)


@cli.command()
@click.argument("file_or_ref")
@workspace_option
@format_option("text", "json")
def proof(file_or_ref: str, workspace: Path | None, output_format: str) -> None:
    """Read a letter (a PDF, DOCX or HTML file, or a reference in the ledger) as the proof-reader
    does before a letter is written; exit 1 if it finds anything."""
    from letterforge.pipeline import proofread_letter
    from letterforge.reports import to_json

    path = Path(file_or_ref)
    report = proofread_letter(None if path.is_file() else _open_workspace(workspace), file_or_ref)
    if output_format == "json":
        click.echo(to_json([{"check": f.check, "where": f.where, "message": f.message} for f in report.findings]))
    else:
        _echo_problems(report.findings)
        click.echo(f"{file_or_ref}: {len(report.findings)} problem(s)" if report.findings else f"{file_or_ref}: ok")
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


@cli.command()
@click.argument("account")
@workspace_option
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--reason", required=True, help="e.g. 投诉处理中, instalment plan agreed")
def hold(account: str, workspace: Path | None, until: datetime, reason: str) -> None:
    """Stop letters to ACCOUNT until a date (dispute under review, instalment plan agreed)."""
    opened = _open_workspace(workspace)
    if opened.load_data().account(account) is None:
        raise UserError(f"unknown account: {account}")
    book = _open_ledger(opened)
    book.hold(account, until.date(), reason)
    book.close()
    click.echo(f"{account}: on hold until {until.date().isoformat()} ({reason})")


@cli.command()
@click.argument("account")
@workspace_option
def release(account: str, workspace: Path | None) -> None:
    """End the hold on ACCOUNT."""
    book = _open_ledger(_open_workspace(workspace))
    released = book.release(account)
    book.close()
    if not released:
        raise UserError(f"{account} has no hold in the ledger")
    click.echo(f"{account}: hold released")


def main() -> None:
    cli(prog_name="letterforge")
