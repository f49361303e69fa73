"""Commands about prospects: import, find, show, do not contact (one by one or a whole domain), delete, lift."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from bot.cli.output import count, json_option, print_json, print_list
from bot.cli.runtime import Runtime, cli_actor, pass_runtime
from storage.campaigns import find_campaign
from storage.deletion import delete_prospect
from storage.do_not_contact import lift_do_not_contact, mark_addresses
from storage.domains import block_domain, list_blocked_domains
from storage.importing import OUTCOMES, RowOutcome, import_prospects
from storage.prospect_csv import ProspectCsv, SourceRow, UnreadableFile
from storage.prospects import find_prospect_id, prospect_details
from storage.reasons import OWN_OPT_OUT, USER_DNC_REASONS
from storage.search import MAX_PAGE_SIZE, search_prospects

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
# What each kind of state column means, as the summary names it, and how many rows recorded it.
STATE_COLUMN_LABELS = {"opted_out": "own opt-out", "do_not_contact": "do not contact", "bounced": "hard bounce"}
STATE_LABELS = {"opted_out": "opted out themselves", "do_not_contact": "do not contact (team decision)",
                "bounced": "hard bounces"}


@click.command("import")
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
        report_writer = _ReportWriter(report, with_state=bool(prospect_csv.state_columns)) if report else None
        progress = _progress_bar(file.stat().st_size)
        shown = 0

        def advance(bytes_read: int) -> None:
            nonlocal shown
            if progress is not None:
                progress.update(bytes_read - shown)
                shown = bytes_read

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
    if prospect_csv.state_columns:
        click.echo("Opt-out columns: " + ", ".join(f"{column.header} ({STATE_COLUMN_LABELS[column.kind]})"
                                                   for column in prospect_csv.state_columns))
    if prospect_csv.ignored_columns:
        click.echo(f"Columns not imported: {', '.join(prospect_csv.ignored_columns)}")
    for outcome in OUTCOMES:
        click.echo(f"  {OUTCOME_LABELS[outcome]:<32}{result.counts[outcome]:>10,}")
    if prospect_csv.state_columns:
        click.echo("  of which, from the opt-out columns (never emailed again):")
        for kind, label in STATE_LABELS.items():
            click.echo(f"    {label:<30}{result.states[kind]:>10,}")
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
    """Every row's outcome; with `with_state` (the file has opt-out columns), what the row recorded besides."""

    def __init__(self, path: Path, *, with_state: bool) -> None:
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._with_state = with_state
        self._writer.writerow(["line", "email", "outcome", "message", *(["state"] if with_state else [])])

    def write(self, outcome: RowOutcome) -> None:
        self._writer.writerow([outcome.line, outcome.email, outcome.outcome, outcome.message,
                               *([outcome.state] if self._with_state else [])])

    def close(self) -> None:
        self._handle.close()


def _progress_bar(total_bytes: int) -> Any:
    if not sys.stderr.isatty():
        return None
    bar = click.progressbar(length=total_bytes, label="Importing", file=sys.stderr, show_eta=True)
    bar.render_progress()
    return bar


# -- find and show --------------------------------------------------------------------------------------------


@click.command()
@click.argument("query")
@click.option("--campaign", help="Search only this campaign.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, MAX_PAGE_SIZE), default=20, show_default=True)
@json_option
@pass_runtime
def find(runtime: Runtime, query: str, campaign: str | None, page: int, per_page: int, as_json: bool) -> None:
    """Find prospects whose email, name or company starts with QUERY."""
    with runtime.database().snapshot() as session:
        campaign_id = find_campaign(session, campaign).id if campaign else None
        result = search_prospects(session, query, campaign_id=campaign_id, offset=(page - 1) * per_page,
                                  limit=per_page)
    where = f' in "{campaign}"' if campaign else ""
    print_list(
        result.items, as_json=as_json,
        headers=["EMAIL", "NAME", "COMPANY", "STATUS"],
        cells=lambda p: [p.email, p.full_name, p.company, "do not contact" if p.do_not_contact else ""],
        empty=f'No prospect{where} matches "{query}".' if page == 1 else "No more matches.",
        footer=f"More matches: add --page {page + 1}." if result.has_more else "",
    )


@click.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="The whole record as one JSON object, for scripts.")
@pass_runtime
def show(runtime: Runtime, email: str, as_json: bool) -> None:
    """Show a prospect's details, campaigns, metrics and do-not-contact state."""
    with runtime.database().snapshot() as session:
        details = prospect_details(session, find_prospect_id(session, email))
    if as_json:
        print_json(details)
        return
    click.echo(f"{details.full_name or '(no name)'} <{details.email}>")
    for label, value in (("Company", details.company), ("Title", details.title), ("Phone", details.phone),
                         ("LinkedIn", details.linkedin_url), ("Source", details.source)):
        if value:
            click.echo(f"  {label + ':':<10}{value}")
    dnc = details.do_not_contact
    if dnc:
        note = f" — {dnc.note}" if dnc.note else ""
        click.echo(f"  Do not contact: {dnc.reason} ({dnc.channel}, by {dnc.actor}, "
                   f"{dnc.since:%Y-%m-%d %H:%M} UTC){note}")
    else:
        click.echo("  Contactable.")
    if not details.campaigns:
        click.echo("  In no campaign.")
    for c in details.campaigns:
        last = f", last activity {c.last_activity_at:%Y-%m-%d}" if c.last_activity_at else ""
        click.echo(f"  {c.campaign_name} [{c.status}]: sent {c.sent}, opened {c.opened}, replied {c.replied}, "
                   f"bounced {c.bounced}{last}")


# -- do not contact -------------------------------------------------------------------------------------------


@click.command()
@click.argument("emails", nargs=-1)
@click.option("--file", "list_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of addresses: one per line, or a CSV with an email column.")
@click.option("--reason", type=click.Choice(USER_DNC_REASONS),
              help="requested = the prospect asked; other needs --note. Required, except with --domain.")
@click.option("--note", default="", help="Why (required with --reason other; optional with --domain).")
@click.option("--domain", help="Block everyone at this email domain (acme.com) instead of listing addresses.")
@click.option("--list-domains", is_flag=True, help="List the blocked domains.")
@click.option("--json", "as_json", is_flag=True, help="With --list-domains: one JSON object per line, for scripts.")
@pass_runtime
def dnc(runtime: Runtime, emails: tuple[str, ...], list_file: Path | None, reason: str | None, note: str,
        domain: str | None, list_domains: bool, as_json: bool) -> None:
    """Mark prospects do not contact: they stay in the database and are never emailed again.

    An address that is not in the database yet is blocked from future imports instead.

    With --domain, everyone at that domain becomes do not contact (reason domain-blocked), the campaigns'
    Slack channels are told, and future imports skip every address there. In Slack that is a manager's action."""
    if list_domains:
        if emails or list_file or domain is not None or reason or note:
            raise click.UsageError("--list-domains goes alone.")
        _print_blocked_domains(runtime, as_json=as_json)
        return
    if as_json:
        raise click.UsageError("--json goes with --list-domains.")
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
    parts = [f"Marked {count(len(result.marked), 'prospect')} do not contact ({reason})."]
    if result.upgraded_to_own_opt_out:
        parts.append(f"{count(len(result.upgraded_to_own_opt_out), 'prospect')} now show their own opt-out.")
    if result.already:
        parts.append(f"{count(len(result.already), 'prospect')} already do not contact, left as they were.")
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
        what = f"{count(result.marked, 'prospect')} {verb} now do not contact{already}"
    elif result.already:
        what = (f"the {count(result.already, 'prospect')} there already "
                f"{'was' if result.already == 1 else 'were'} do not contact")
    else:
        what = "no prospect there yet"
    click.echo(f"{head}: {what}. Future imports skip addresses at {result.domain}.")


def _print_blocked_domains(runtime: Runtime, *, as_json: bool) -> None:
    with runtime.database().snapshot() as session:
        blocks = list_blocked_domains(session)
    print_list(
        blocks, as_json=as_json,
        headers=["DOMAIN", "BLOCKED BY", "WHEN (UTC)", "NOTE"],
        cells=lambda b: [b.domain, b.actor, f"{b.created_at:%Y-%m-%d %H:%M}", b.note],
        empty="No domain is blocked: block one with `prospectbot dnc --domain acme.com`.",
        whole={"NOTE"},
    )


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


# -- delete ---------------------------------------------------------------------------------------------------

REIMPORT_WARNING = (
    "Deleting removes this person entirely. If they are extracted or imported again later, they will be "
    "treated as a new contact and may be emailed again. To stop emailing them, do not contact "
    "(`prospectbot dnc`) is the recommended option."
)


@click.command()
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
        click.echo(f"{details.full_name or details.email} <{details.email}>, "
                   f"in {count(len(details.campaigns), 'campaign')}.")
        if opted_out:
            click.echo("They opted out themselves: their address stays blocked from imports after the delete.")
        elif not block_reimport:
            click.echo(f"Warning: {REIMPORT_WARNING} Add --block-reimport to keep imports from adding them back.")
        if not sys.stdin.isatty():
            raise click.ClickException("Not deleted: confirm with --yes when not running in a terminal.")
        click.confirm("Delete this prospect?", abort=True)
    with database.transaction() as session:
        result = delete_prospect(
            session, details.id, actor=cli_actor(), block_reimport=block_reimport, expected_version=details.version,
        )
    database.after_erasure()
    if result.reimport_blocked:
        why = " because they had opted out themselves" if result.blocked_because_opted_out else ""
        click.echo(f"Deleted {details.email}. The address stays blocked from future imports{why}.")
    else:
        click.echo(f"Deleted {details.email}. A later import of this address will add them back as a new contact.")


# -- lift -----------------------------------------------------------------------------------------------------


@click.command()
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
        click.echo(f"Lifting it lets {count(len(details.campaigns), 'campaign')} email them again.")
        if not sys.stdin.isatty():
            raise click.ClickException("Not lifted: confirm with --yes when not running in a terminal.")
        click.confirm("Lift do not contact?", abort=True)
    with database.transaction() as session:
        lift_do_not_contact(session, details.id, actor=cli_actor(), expected_version=details.version)
    click.echo(f"Lifted do not contact for {details.email} (was: {dnc.reason}). They may be emailed again.")
