"""`prospectbot`: the command line operators and scripts use. Every command prints one clear line on bad input
and exits non-zero; nobody sees a traceback unless they ask for one with PROSPECTBOT_DEBUG=1."""

from __future__ import annotations

import csv
import getpass
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv

from bot.settings import ConfigurationError, Settings, load_settings, require_slack
from storage import bulk_requests
from storage import roles as role_grants
from storage.audit import Actor
from storage.campaigns import configure_campaign, find_campaign, list_campaigns
from storage.db import Database
from storage.deletion import delete_prospect
from storage.do_not_contact import lift_do_not_contact, mark_addresses
from storage.domains import block_domain, list_blocked_domains
from storage.errors import NotFound, ProspectbotError
from storage.importing import OUTCOMES, RowOutcome, import_prospects
from storage.models import ROLES
from storage.prospect_csv import ProspectCsv, SourceRow, UnreadableFile
from storage.prospects import find_prospect_id, prospect_details
from storage.reasons import OWN_OPT_OUT, USER_DNC_REASONS
from storage.search import MAX_PAGE_SIZE, search_prospects

DEBUG_VARIABLE = "PROSPECTBOT_DEBUG"


class Runtime:
    """Settings and the database, opened on first use so that `--help` needs neither."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def database(self, *, prepare: bool = True) -> Database:
        if self._database is None:
            self._database = Database(self.settings.database_url)
            if prepare:
                self._database.prepare(
                    secret_key=self.settings.secret_key, auto_migrate=self.settings.is_embedded_database
                )
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()


class FriendlyGroup(click.Group):
    """Turns every error into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ProspectbotError, ConfigurationError) as error:
            raise click.ClickException(str(error)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`prospectbot find a | head`): nothing more to say to it.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
            ctx.exit(0)
        except KeyboardInterrupt:
            click.echo("Interrupted: whatever was already confirmed stays saved.", err=True)
            ctx.exit(130)
        except Exception as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            raise click.ClickException(
                f"Unexpected error ({type(error).__name__}: {error}). Run again with {DEBUG_VARIABLE}=1 for details."
            ) from None


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return Actor(f"cli:{os.environ.get('PROSPECTBOT_ACTOR') or user}", "cli")


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """prospectbot: manage who your cold-email campaigns may contact."""
    runtime = Runtime()
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


pass_runtime = click.make_pass_decorator(Runtime)


# -- db -------------------------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command()
@pass_runtime
def upgrade(runtime: Runtime) -> None:
    """Migrate the database to the newest schema (run once per release against a shared PostgreSQL)."""
    database = runtime.database(prepare=False)
    before, after = database.upgrade()
    database.verify_secret_key(runtime.settings.secret_key)
    if before == after:
        click.echo(f"{database.description}: already up to date (revision {after}).")
    else:
        click.echo(f"{database.description}: migrated from {before or 'an empty database'} to revision {after}.")


# -- campaigns ------------------------------------------------------------------------------------------------


@cli.command()
@pass_runtime
def campaigns(runtime: Runtime) -> None:
    """List campaigns with their members and how many may be emailed now."""
    with runtime.database().snapshot() as session:
        rows = list_campaigns(session)
    if not rows:
        click.echo("No campaigns yet: import a CSV with `prospectbot import FILE.csv --campaign NAME`.")
        return
    width = max(len(row.name) for row in rows)
    click.echo(f"{'CAMPAIGN'.ljust(width)}  {'MEMBERS':>8}  {'SENDABLE':>8}")
    for row in rows:
        click.echo(f"{row.name.ljust(width)}  {row.members:>8,}  {row.sendable:>8,}")


# -- import ---------------------------------------------------------------------------------------------------

OUTCOME_LABELS = {
    "new": "new contacts",
    "added": "existing contacts added",
    "already_in_campaign": "already in the campaign",
    "duplicate_in_file": "duplicates within the file",
    "skipped_do_not_contact": "skipped: do not contact",
    "skipped_blocked": "skipped: blocked from imports",
    "invalid": "invalid rows",
}


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--campaign", required=True, help="Campaign to add the prospects to; created if missing.")
@click.option("--source", help='Where these prospects come from (default: "import:FILE").')
@click.option("--report", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write every row's outcome to this CSV file.")
@pass_runtime
def import_command(runtime: Runtime, file: Path, campaign: str, source: str | None, report: Path | None) -> None:
    """Import prospects from a CSV file into a campaign."""
    database = runtime.database()
    with file.open("rb") as stream:
        try:
            prospect_csv = ProspectCsv(stream, name=file.name)
        except UnreadableFile as error:
            raise click.ClickException(f"{file.name}: {error} Nothing was imported.") from None
        report_writer = _ReportWriter(report) if report else None
        progress = _progress_bar(file.stat().st_size)
        shown = 0

        def advance() -> None:
            nonlocal shown
            if progress is not None:
                progress.update(prospect_csv.bytes_read - shown)
                shown = prospect_csv.bytes_read

        try:
            result = import_prospects(
                database.transaction,
                prospect_csv,
                campaign_name=campaign,
                actor=cli_actor(),
                secret_key=runtime.settings.secret_key,
                source_label=source or f"import:{file.name}",
                on_outcome=report_writer.write if report_writer else None,
                on_progress=advance,
            )
        finally:
            if progress is not None:
                progress.render_finish()
            if report_writer:
                report_writer.close()

    click.echo(f'Imported {file.name} into "{result.campaign_name}": {result.rows:,} rows.')
    if prospect_csv.ignored_columns:
        click.echo(f"Columns not imported: {', '.join(prospect_csv.ignored_columns)}")
    for outcome in OUTCOMES:
        click.echo(f"  {OUTCOME_LABELS[outcome]:<32}{result.counts[outcome]:>10,}")
    for outcome in ("invalid", "skipped_do_not_contact", "skipped_blocked"):
        samples = result.samples.get(outcome, [])
        if samples:
            more = result.counts[outcome] - len(samples)
            click.echo(f"{OUTCOME_LABELS[outcome].capitalize()}{f' (first {len(samples)})' if more else ''}:")
            for sample in samples:
                detail = f" ({sample.message})" if sample.message else ""
                click.echo(f"  line {sample.line}: {sample.email or '(no address)'}{detail}")
    if report:
        click.echo(f"Every row's outcome is in {report}.")


class _ReportWriter:
    def __init__(self, path: Path) -> None:
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(["line", "email", "outcome", "message"])

    def write(self, outcome: RowOutcome) -> None:
        self._writer.writerow([outcome.line, outcome.email, outcome.outcome, outcome.message])

    def close(self) -> None:
        self._handle.close()


def _progress_bar(total_bytes: int) -> Any:
    if not sys.stderr.isatty():
        return None
    bar = click.progressbar(length=total_bytes, label="Importing", file=sys.stderr, show_eta=True)
    bar.render_progress()
    return bar


# -- find and show --------------------------------------------------------------------------------------------


@cli.command()
@click.argument("query")
@click.option("--campaign", help="Search only this campaign.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, MAX_PAGE_SIZE), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per prospect, for scripts.")
@pass_runtime
def find(runtime: Runtime, query: str, campaign: str | None, page: int, per_page: int, as_json: bool) -> None:
    """Find prospects whose email, name or company starts with QUERY."""
    with runtime.database().snapshot() as session:
        campaign_id = find_campaign(session, campaign).id if campaign else None
        result = search_prospects(session, query, campaign_id=campaign_id, offset=(page - 1) * per_page,
                                      limit=per_page)
    if as_json:
        for item in result.items:
            click.echo(json.dumps(asdict(item)))
        return
    if not result.items:
        where = f' in "{campaign}"' if campaign else ""
        click.echo(f'No prospect{where} matches "{query}".' if page == 1 else "No more matches.")
        return
    _print_table(
        ["EMAIL", "NAME", "COMPANY", "STATUS"],
        [[p.email, p.full_name, p.company, "do not contact" if p.do_not_contact else ""] for p in result.items],
    )
    if result.has_more:
        click.echo(f"More matches: add --page {page + 1}.")


def _print_table(headers: list[str], rows: Iterable[list[str]], *, full_last: bool = False) -> None:
    """Columns cut at 40 characters; with `full_last` the last column is printed whole."""
    rows = list(rows)
    widths = [min(40, max(len(str(cell)) for cell in column)) for column in zip(headers, *rows)]
    for row in [headers, *rows]:
        cells = [str(cell)[:40].ljust(width) for cell, width in zip(row, widths)]
        if full_last:
            cells[-1] = str(row[-1])
        click.echo("  ".join(cells).rstrip())


@cli.command()
@click.argument("email")
@pass_runtime
def show(runtime: Runtime, email: str) -> None:
    """Show a prospect's details, campaigns, metrics and do-not-contact state."""
    with runtime.database().snapshot() as session:
        details = prospect_details(session, find_prospect_id(session, email))
    click.echo(f"{details.full_name or '(no name)'} <{details.email}>")
    for label, value in (("Company", details.company), ("Title", details.title), ("Phone", details.phone),
                         ("LinkedIn", details.linkedin_url), ("Source", details.source)):
        if value:
            click.echo(f"  {label + ':':<10}{value}")
    dnc = details.do_not_contact
    if dnc:
        note = f" — {dnc.note}" if dnc.note else ""
        click.echo(f"  Do not contact: {dnc.reason} ({dnc.channel}, by {dnc.actor}, {dnc.since:%Y-%m-%d %H:%M} UTC){note}")
    else:
        click.echo("  Contactable.")
    if not details.campaigns:
        click.echo("  In no campaign.")
    for c in details.campaigns:
        last = f", last activity {c.last_activity_at:%Y-%m-%d}" if c.last_activity_at else ""
        click.echo(f"  {c.campaign_name} [{c.status}]: sent {c.sent}, opened {c.opened}, replied {c.replied}, "
                   f"bounced {c.bounced}{last}")


# -- do not contact -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("emails", nargs=-1)
@click.option("--file", "list_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of addresses: one per line, or a CSV with an email column.")
@click.option("--reason", type=click.Choice(USER_DNC_REASONS),
              help="requested = the prospect asked; other needs --note. Required, except with --domain.")
@click.option("--note", default="", help="Why (required with --reason other; optional with --domain).")
@click.option("--domain", help="Block everyone at this email domain (acme.com) instead of listing addresses.")
@click.option("--list-domains", is_flag=True, help="List the blocked domains.")
@pass_runtime
def dnc(runtime: Runtime, emails: tuple[str, ...], list_file: Path | None, reason: str | None, note: str,
        domain: str | None, list_domains: bool) -> None:
    """Mark prospects do not contact: they stay in the database and are never emailed again.

    An address that is not in the database yet is blocked from future imports instead.

    With --domain, everyone at that domain becomes do not contact (reason domain-blocked), the campaigns'
    Slack channels are told, and future imports skip every address there. In Slack that is a manager's action."""
    if list_domains:
        if emails or list_file or domain is not None or reason or note:
            raise click.UsageError("--list-domains goes alone.")
        _print_blocked_domains(runtime)
        return
    if domain is not None:
        if emails or list_file:
            raise click.UsageError("Give either --domain or addresses (or --file), not both.")
        if reason:
            raise click.UsageError("--reason does not go with --domain: everyone there becomes do not contact with "
                                   "the reason domain-blocked. Say why with --note instead.")
        _block_domain(runtime, domain, note)
        return
    if reason is None:
        raise click.UsageError(f"Missing option '--reason': choose {', '.join(USER_DNC_REASONS)} "
                               "(only --domain goes without one).")
    raw = list(emails) + (list(_addresses_in_file(list_file)) if list_file else [])
    if not raw:
        raise click.UsageError("Give at least one address, or --file.")
    with runtime.database().transaction() as session:
        outcome = mark_addresses(session, raw, reason=reason, note=note, actor=cli_actor(),
                                     secret_key=runtime.settings.secret_key)
    result, unknown = outcome.prospects, outcome.blocked_unknown
    parts = [f"Marked {_count(len(result.marked), 'prospect')} do not contact ({reason})."]
    if result.upgraded_to_own_opt_out:
        parts.append(f"{_count(len(result.upgraded_to_own_opt_out), 'prospect')} now show their own opt-out.")
    if result.already:
        parts.append(f"{_count(len(result.already), 'prospect')} already do not contact, left as they were.")
    if unknown:
        parts.append(f"Not in the database, blocked from future imports: {', '.join(unknown[:10])}"
                     f"{f' and {len(unknown) - 10} more' if len(unknown) > 10 else ''}.")
    click.echo(" ".join(parts))


def _block_domain(runtime: Runtime, domain: str, note: str) -> None:
    with runtime.database().transaction() as session:
        result = block_domain(session, domain, actor=cli_actor(), note=note)
    head = f"Blocked {result.domain}" if result.newly_blocked else f"{result.domain} was already blocked"
    if result.marked:
        verb = "is" if result.marked == 1 else "are"
        already = f" ({result.already:,} already {'was' if result.already == 1 else 'were'})" if result.already else ""
        what = f"{_count(result.marked, 'prospect')} {verb} now do not contact{already}"
    elif result.already:
        what = (f"the {_count(result.already, 'prospect')} there already "
                f"{'was' if result.already == 1 else 'were'} do not contact")
    else:
        what = "no prospect there yet"
    click.echo(f"{head}: {what}. Future imports skip addresses at {result.domain}.")


def _print_blocked_domains(runtime: Runtime) -> None:
    with runtime.database().snapshot() as session:
        rows = [[b.domain, b.actor, f"{b.created_at:%Y-%m-%d %H:%M}", b.note]
                for b in list_blocked_domains(session)]
    if not rows:
        click.echo("No domain is blocked: block one with `prospectbot dnc --domain acme.com`.")
        return
    _print_table(["DOMAIN", "BLOCKED BY", "WHEN (UTC)", "NOTE"], rows, full_last=True)


def _addresses_in_file(path: Path) -> Iterable[str]:
    with path.open("rb") as stream:
        try:
            for row in ProspectCsv(stream, name=path.name):
                if isinstance(row, SourceRow) and row.values.get("email"):
                    yield row.values["email"]
            return
        except UnreadableFile:
            pass
    # Not a CSV with an email header: a plain list, one address per line.
    with path.open(encoding="utf-8-sig", errors="replace") as lines:
        yield from (line.strip() for line in lines if line.strip())


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- delete ---------------------------------------------------------------------------------------------------

REIMPORT_WARNING = (
    "Deleting removes this person entirely. If they are extracted or imported again later, they will be "
    "treated as a new contact and may be emailed again. To stop emailing them, do not contact "
    "(`prospectbot dnc`) is the recommended option."
)


@cli.command()
@click.argument("email")
@click.option("--block-reimport", is_flag=True, help="Keep a fingerprint of the address so imports skip it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_runtime
def delete(runtime: Runtime, email: str, block_reimport: bool, yes: bool) -> None:
    """Delete a prospect entirely (see the re-import warning)."""
    database = runtime.database()
    with database.snapshot() as session:
        details = prospect_details(session, find_prospect_id(session, email))
    opted_out = details.do_not_contact is not None and details.do_not_contact.reason == OWN_OPT_OUT
    if not yes:
        click.echo(f"{details.full_name or details.email} <{details.email}>, in {_count(len(details.campaigns), 'campaign')}.")
        if opted_out:
            click.echo("They opted out themselves: their address stays blocked from imports after the delete.")
        elif not block_reimport:
            click.echo(f"Warning: {REIMPORT_WARNING} Add --block-reimport to keep imports from adding them back.")
        if not sys.stdin.isatty():
            raise click.ClickException("Not deleted: confirm with --yes when not running in a terminal.")
        click.confirm("Delete this prospect?", abort=True)
    with database.transaction() as session:
        result = delete_prospect(
            session, details.id, actor=cli_actor(), secret_key=runtime.settings.secret_key,
            block_reimport=block_reimport, expected_version=details.version,
        )
    if result.reimport_blocked:
        why = " because they had opted out themselves" if result.blocked_because_opted_out else ""
        click.echo(f"Deleted {details.email}. The address stays blocked from future imports{why}.")
    else:
        click.echo(f"Deleted {details.email}. A later import of this address will add them back as a new contact.")


# -- lift -----------------------------------------------------------------------------------------------------


@cli.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_runtime
def lift(runtime: Runtime, email: str, yes: bool) -> None:
    """Lift a do not contact that a colleague set by mistake: the prospect may be emailed again.

    A prospect's own opt-out can never be lifted, nor can anyone's at a blocked domain. In Slack lifting is a
    manager's action; whoever runs this command is trusted as one."""
    database = runtime.database()
    with database.snapshot() as session:
        details = prospect_details(session, find_prospect_id(session, email))
    dnc = details.do_not_contact
    if dnc is None:
        click.echo(f"{details.email} is not do not contact: nothing to lift.")
        return
    # A lift the storage layer refuses needs no confirmation: it says why, and nothing changes.
    refused = details.lift_refusal is not None
    if not yes and not refused:
        note = f" — {dnc.note}" if dnc.note else ""
        click.echo(f"{details.full_name or details.email} <{details.email}>: do not contact since "
                   f"{dnc.since:%Y-%m-%d}, {dnc.reason} ({dnc.channel}, by {dnc.actor}){note}.")
        click.echo(f"Lifting it lets {_count(len(details.campaigns), 'campaign')} email them again.")
        if not sys.stdin.isatty():
            raise click.ClickException("Not lifted: confirm with --yes when not running in a terminal.")
        click.confirm("Lift do not contact?", abort=True)
    with database.transaction() as session:
        lift_do_not_contact(session, details.id, actor=cli_actor(), expected_version=details.version)
    click.echo(f"Lifted do not contact for {details.email} (was: {dnc.reason}). They may be emailed again.")


# -- roles ----------------------------------------------------------------------------------------------------

ROLE_DELAY = "Slack picks this up within about a minute."


@cli.group()
def roles() -> None:
    """Who may use prospectbot in Slack, on top of the Slack user groups in the settings.

    Members find prospects, save do not contact and ask for bulk unsubscribes; managers also delete, lift,
    block domains and approve bulk requests. USER_ID is the person's Slack member id (U…): in their Slack
    profile, ⋮ → Copy member ID."""


@roles.command("grant")
@click.argument("role", type=click.Choice(ROLES))
@click.argument("user_id")
@pass_runtime
def roles_grant(runtime: Runtime, role: str, user_id: str) -> None:
    """Give a Slack user the role manager or member (replaces a role granted before)."""
    user_id = role_grants.slack_user_id(user_id)
    with runtime.database().transaction() as session:
        previous = role_grants.grant_role(session, user_id, role, actor=cli_actor())
    if previous == role:
        click.echo(f"{user_id} was already a {role}: nothing changed.")
        return
    was = f" (was: {previous})" if previous else ""
    click.echo(f"{user_id} is now a {role}{was}. {ROLE_DELAY}")


@roles.command("revoke")
@click.argument("user_id")
@pass_runtime
def roles_revoke(runtime: Runtime, user_id: str) -> None:
    """Take back the role granted here. A role a Slack user group gives stays."""
    user_id = role_grants.slack_user_id(user_id)
    with runtime.database().transaction() as session:
        previous = role_grants.revoke_role(session, user_id, actor=cli_actor())
    if previous is None:
        click.echo(f"{user_id} has no role granted here: nothing changed.")
        return
    click.echo(f"{user_id} no longer has the {previous} role granted here; a role from a Slack user group stays. "
               f"{ROLE_DELAY}")


@roles.command("list")
@pass_runtime
def roles_list(runtime: Runtime) -> None:
    """The roles granted here, and which Slack user groups also give roles."""
    with runtime.database().snapshot() as session:
        rows = [[g.user_id, g.role, g.granted_by, f"{g.granted_at:%Y-%m-%d %H:%M}"]
                for g in role_grants.list_grants(session)]
    if rows:
        _print_table(["USER", "ROLE", "GRANTED BY", "WHEN (UTC)"], rows)
    else:
        click.echo("No role is granted here yet: give one with `prospectbot roles grant manager U0123`.")
    click.echo(_group_roles(runtime.settings))


def _group_roles(settings: Settings) -> str:
    """What the Slack side adds to the grants (see handlers/access.py)."""
    # getattr: these settings are recent; the command must not break on a Settings without them.
    manager_group = getattr(settings, "slack_manager_group", "")
    member_group = getattr(settings, "slack_member_group", "")

    def group(name: str) -> str:
        return name if name[:1] == "S" and name.isupper() else f"@{name}"

    managers = (f"the people in the Slack user group {group(manager_group)} are managers" if manager_group
                else "workspace admins and owners are managers (SLACK_MANAGER_GROUP is not set)")
    members = (f"the people in {group(member_group)} are members" if member_group
               else "every full member of the workspace is a member (SLACK_MEMBER_GROUP is not set)")
    return f"In Slack, also: {managers}; {members}."


# -- bulk requests --------------------------------------------------------------------------------------------

REQUESTS_SHOWN = 50


@cli.group(invoke_without_command=True)
@click.pass_context
def requests(ctx: click.Context) -> None:
    """Bulk unsubscribe requests waiting for a manager: alone, lists them; approve or reject one by its ID.

    The approval message in Slack is updated and the requester told when SLACK_BOT_TOKEN is set here.
    Whoever runs this command is trusted as a manager. Four eyes still apply: nobody decides a request they
    made themselves (the CLI acts as cli:USER, or cli:$PROSPECTBOT_ACTOR)."""
    if ctx.invoked_subcommand is None:
        _list_requests(ctx.find_object(Runtime))


def _list_requests(runtime: Runtime) -> None:
    with runtime.database().snapshot() as session:
        pending = bulk_requests.pending_requests(session, limit=REQUESTS_SHOWN + 1)
    if not pending:
        click.echo("No bulk request is waiting for a decision.")
        return
    _print_table(
        ["ID", "CAMPAIGN", "PROSPECTS", "REQUESTED BY", "EXPIRES (UTC)", "WHO"],
        [[f"#{r.id}", r.campaign_name, f"{r.prospect_count:,}", r.requested_by, f"{r.expires_at:%Y-%m-%d %H:%M}",
          r.rule_text] for r in pending[:REQUESTS_SHOWN]],
        full_last=True,
    )
    if len(pending) > REQUESTS_SHOWN:
        click.echo(f"More are waiting: the oldest {REQUESTS_SHOWN} are shown.")
    click.echo("Decide with `prospectbot requests approve ID` or `prospectbot requests reject ID`.")


def _request_id(ctx: click.Context, param: click.Parameter, value: str) -> int:
    text = value.strip().lstrip("#")
    if not text.isdigit():
        raise click.BadParameter(f'"{value}" is not a request number such as 12.')
    return int(text)


@requests.command("approve")
@click.argument("request_id", metavar="ID", callback=_request_id)
@pass_runtime
def requests_approve(runtime: Runtime, request_id: int) -> None:
    """Approve request ID: its frozen set of prospects becomes do not contact now."""
    _decide(runtime, request_id, approve=True)


@requests.command("reject")
@click.argument("request_id", metavar="ID", callback=_request_id)
@pass_runtime
def requests_reject(runtime: Runtime, request_id: int) -> None:
    """Reject request ID: nothing changes."""
    _decide(runtime, request_id, approve=False)


def _decide(runtime: Runtime, request_id: int, *, approve: bool) -> None:
    try:
        with runtime.database().transaction() as session:
            request = bulk_requests.decide(session, request_id, decider=cli_actor(), approve=approve)
    except bulk_requests.AlreadyDecided as already:
        by = f" by {already.request.decided_by}" if already.request.decided_by else ""
        raise click.ClickException(f"Request #{request_id} was already {already.request.status}{by}: "
                                   "nothing changed.") from None
    except NotFound:
        raise click.ClickException(f"There is no bulk request #{request_id}.") from None
    where = f"{_count(request.prospect_count, 'prospect')} in {request.campaign_name}"
    if request.status == "expired":
        raise click.ClickException(f"Request #{request_id} ({where}) expired on {request.expires_at:%Y-%m-%d} before "
                                   "anyone decided: nothing changed.")
    if request.status == "approved":
        skipped = (f" {request.skipped_count:,} skipped: already do not contact, or deleted since."
                   if request.skipped_count else "")
        click.echo(f"Approved request #{request_id} ({where}): {request.applied_count:,} now do not contact.{skipped}")
    else:
        click.echo(f"Rejected request #{request_id} ({where}): nothing changed.")
    click.echo(_tell_slack(runtime.settings, request))


def _tell_slack(settings: Settings, request: bulk_requests.RequestView) -> str:
    """What a decision in Slack does besides deciding: the approval message shows the outcome, and the requester
    hears of it. Best effort, once: the decision is committed whatever Slack answers."""
    if not settings.slack_bot_token:
        return ("Slack was not told (SLACK_BOT_TOKEN is not set here): the approval message shows the decision "
                "once someone presses one of its buttons.")
    from slack_sdk import WebClient

    from handlers.decision_announcer import announce_decision

    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    outcomes = announce_decision(client, request)
    if not outcomes:
        return "Nothing to update in Slack."
    done = [said for worked, said in outcomes if worked]
    failed = [said for worked, said in outcomes if not worked]
    return f"In Slack: {'; '.join(done + failed)}."


# -- campaigns: notifications and the reference sender ------------------------------------------------------


@cli.command()
@click.argument("name")
@click.option("--channel", help="Slack channel id (C…) for this campaign's opt-out notifications; \"\" for the default.")
@click.option("--subject", help="Subject of the reference sender's message; $first_name, $company, … are filled in.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file with the message body, same placeholders.")
@pass_runtime
def campaign(runtime: Runtime, name: str, channel: str | None, subject: str | None, body_file: Path | None) -> None:
    """Show or change a campaign's notification channel and message template."""
    body = body_file.read_text(encoding="utf-8") if body_file else None
    database = runtime.database()
    if channel is None and subject is None and body is None:
        with database.snapshot() as session:
            found = find_campaign(session, name)
    else:
        with database.transaction() as session:
            found = configure_campaign(session, name, actor=cli_actor(), channel=channel, subject=subject,
                                           body=body)
    default = runtime.settings.slack_notify_channel or "none set"
    click.echo(f"{found.name}\n  notifications: {found.notify_channel or f'default channel ({default})'}\n"
               f"  subject: {found.subject_template or '(built-in default)'}\n"
               f"  body: {'custom' if found.body_template else '(built-in default)'}")


@cli.command()
@click.option("--campaign", "campaign_name", required=True)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing, record nothing.")
@pass_runtime
def send(runtime: Runtime, campaign_name: str, dry_run: bool) -> None:
    """Send the campaign's message to everyone who may be emailed now (the reference sender)."""
    from bot.sender import send_campaign

    def show(message: Any) -> None:
        click.echo(f"To: {message['To']}  Subject: {message['Subject']}")

    report = send_campaign(runtime.settings, runtime.database(), campaign_name, dry_run=dry_run,
                           on_message=show if dry_run else None)
    if dry_run:
        click.echo("Dry run: nothing was sent.")
        return
    click.echo(f"Sent {_count(report.sent, 'message')}.")
    if report.skipped_since_selected:
        click.echo(f"Skipped {_count(report.skipped_since_selected, 'person')} who opted out while the batch was "
                   "being sent.")
    for email, reason in report.failed[:20]:
        click.echo(f"  not sent to {email}: {reason}", err=True)
    if report.stopped:
        raise click.ClickException(f"Stopped early: {report.stopped}")
    if report.failed:
        raise click.ClickException(f"{_count(len(report.failed), 'message')} could not be sent (listed above).")


@cli.command()
@pass_runtime
def worker(runtime: Runtime) -> None:
    """Deliver opt-out notifications to Slack (also runs inside `run` and `serve`)."""
    from bot.runners import run_worker

    require_slack(runtime.settings, "SLACK_BOT_TOKEN")
    _log_to_stderr()
    run_worker(runtime.settings, runtime.database())


# -- running the bot -----------------------------------------------------------------------------------------


def _log_to_stderr() -> None:
    logging.basicConfig(level=os.environ.get("PROSPECTBOT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@cli.command()
@pass_runtime
def run(runtime: Runtime) -> None:
    """Run the Slack bot over Socket Mode (no public URL needed): SLACK_BOT_TOKEN and SLACK_APP_TOKEN."""
    from bot.runners import run_socket_mode

    require_slack(runtime.settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    _log_to_stderr()
    run_socket_mode(runtime.settings, runtime.database())


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Serve Slack's requests over HTTP at /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET), plus /healthz."""
    from bot.runners import serve_http

    require_slack(runtime.settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    _log_to_stderr()
    serve_http(runtime.settings, runtime.database(), host=host, port=port)


# -- demo -----------------------------------------------------------------------------------------------------


@cli.command()
@pass_runtime
def demo(runtime: Runtime) -> None:
    """Load a realistic demo data set into the current database and show it."""
    from storage.demo import load_demo

    database = runtime.database()
    with database.transaction() as session:
        summary = load_demo(session, secret_key=runtime.settings.secret_key)
    if summary.already_loaded:
        click.echo("The demo data is already loaded.")
    else:
        click.echo(f"Loaded {summary.prospects:,} prospects in {summary.campaigns} campaigns, with "
                   f"{summary.activities:,} email events; {summary.do_not_contact} are do not contact.")
    click.echo(f"Database: {database.description}\n")
    click.get_current_context().invoke(campaigns)
    with database.snapshot() as session:
        sample = search_prospects(session, "", limit=1).items
    if sample:
        click.echo(f"\nTry:  prospectbot find {sample[0].first_name.lower()[:3]}\n      prospectbot show {sample[0].email}")


def main() -> None:
    # .env from the working directory; variables already set in the environment win.
    load_dotenv(Path.cwd() / ".env")
    cli(prog_name="prospectbot")


if __name__ == "__main__":
    main()
