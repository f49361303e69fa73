"""Commands about campaigns: the list, one campaign's notification channel and message, and the reference sender."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli.output import count, json_option, print_list
from bot.cli.runtime import Runtime, cli_actor, pass_runtime
from storage.campaigns import configure_campaign, find_campaign, list_campaigns


@click.command()
@json_option
@pass_runtime
def campaigns(runtime: Runtime, as_json: bool) -> None:
    """List campaigns with their members and how many may be emailed now."""
    print_campaigns(runtime, as_json=as_json)


def print_campaigns(runtime: Runtime, *, as_json: bool = False) -> None:
    with runtime.database().snapshot() as session:
        rows = list_campaigns(session)
    print_list(
        rows, as_json=as_json,
        headers=["CAMPAIGN", "MEMBERS", "SENDABLE"],
        cells=lambda row: [row.name, row.members, row.sendable],
        empty="No campaigns yet: import a CSV with `prospectbot import FILE.csv --campaign NAME`.",
        whole={"CAMPAIGN"},
    )


@click.command()
@click.argument("name")
@click.option("--channel",
              help="Slack channel id (C…) for this campaign's opt-out notifications; \"\" for the default.")
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


@click.command()
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
    click.echo(f"Sent {count(report.sent, 'message')}.")
    if report.skipped_since_selected:
        click.echo(f"Skipped {count(report.skipped_since_selected, 'person')} who opted out while the batch was "
                   "being sent.")
    for email, reason in report.failed[:20]:
        click.echo(f"  not sent to {email}: {reason}", err=True)
    if report.stopped:
        raise click.ClickException(f"Stopped early: {report.stopped}")
    if report.failed:
        raise click.ClickException(f"{count(len(report.failed), 'message')} could not be sent (listed above).")
