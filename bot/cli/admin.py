"""Administration: the database schema, roles, bulk unsubscribe requests, and the demo data set."""

from __future__ import annotations

import click

from bot.cli.campaigns import print_campaigns
from bot.cli.output import count, json_option, print_list
from bot.cli.runtime import Runtime, cli_actor, pass_runtime
from bot.settings import Settings
from storage import bulk_requests
from storage import roles as role_grants
from storage.errors import NotFound
from storage.models import ROLES
from storage.search import search_prospects

# -- db -------------------------------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
@pass_runtime
def upgrade(runtime: Runtime) -> None:
    """Migrate the database to the newest schema (run once per release against a shared PostgreSQL)."""
    database = runtime.database(prepare=False)
    before, after = database.upgrade(runtime.settings.secret_key)
    database.verify_secret_key(runtime.settings.secret_key)
    if before == after:
        click.echo(f"{database.description}: already up to date (revision {after}).")
    else:
        click.echo(f"{database.description}: migrated from {before or 'an empty database'} to revision {after}.")


# -- roles ----------------------------------------------------------------------------------------------------

ROLE_DELAY = "Slack picks this up within about a minute."


@click.group()
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
@json_option
@pass_runtime
def roles_list(runtime: Runtime, as_json: bool) -> None:
    """The roles granted here, and which Slack user groups also give roles."""
    with runtime.database().snapshot() as session:
        grants = role_grants.list_grants(session)
    print_list(
        grants, as_json=as_json,
        headers=["USER", "ROLE", "GRANTED BY", "WHEN (UTC)"],
        cells=lambda g: [g.user_id, g.role, g.granted_by, f"{g.granted_at:%Y-%m-%d %H:%M}"],
        empty="No role is granted here yet: give one with `prospectbot roles grant manager U0123`.",
    )
    if not as_json:
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


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def requests(ctx: click.Context, as_json: bool) -> None:
    """Bulk unsubscribe requests waiting for a manager: alone, lists them; approve or reject one by its ID.

    The approval message in Slack is updated and the requester told when SLACK_BOT_TOKEN is set here.
    Whoever runs this command is trusted as a manager. Four eyes still apply: nobody decides a request they
    made themselves (the CLI acts as cli:USER, or cli:$PROSPECTBOT_ACTOR)."""
    if ctx.invoked_subcommand is not None:
        if as_json:
            raise click.UsageError("--json goes with the list alone: `prospectbot requests --json`.")
        return
    _list_requests(ctx.ensure_object(Runtime), as_json=as_json)


def _list_requests(runtime: Runtime, *, as_json: bool) -> None:
    with runtime.database().snapshot() as session:
        pending = bulk_requests.pending_requests(session, limit=REQUESTS_SHOWN + 1)
    more = f"More are waiting: the oldest {REQUESTS_SHOWN} are shown." if len(pending) > REQUESTS_SHOWN else ""
    print_list(
        pending[:REQUESTS_SHOWN], as_json=as_json,
        headers=["ID", "CAMPAIGN", "PROSPECTS", "REQUESTED BY", "EXPIRES (UTC)", "WHO"],
        cells=lambda r: [f"#{r.id}", r.campaign_name, r.prospect_count, r.requested_by,
                         f"{r.expires_at:%Y-%m-%d %H:%M}", r.rule_text],
        empty="No bulk request is waiting for a decision.",
        whole={"WHO"},
        footer="\n".join(filter(None, [
            more, "Decide with `prospectbot requests approve ID` or `prospectbot requests reject ID`."])),
    )
    if as_json and more:
        click.echo(more, err=True)  # stdout holds only the requests


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
    where = f"{count(request.prospect_count, 'prospect')} in {request.campaign_name}"
    if request.status == "expired":
        raise click.ClickException(f"Request #{request_id} ({where}) expired on {request.expires_at:%Y-%m-%d} "
                                   "before anyone decided: nothing changed.")
    if request.status == "approved":
        skipped = (f" {request.skipped_count:,} skipped: already do not contact, or deleted since."
                   if request.skipped_count else "")
        click.echo(f"Approved request #{request_id} ({where}): {request.applied_count:,} now do not contact.{skipped}")
    else:
        click.echo(f"Rejected request #{request_id} ({where}): nothing changed.")
    click.echo(_tell_slack(runtime, request))


def _tell_slack(runtime: Runtime, request: bulk_requests.RequestView) -> str:
    """What a decision in Slack does besides deciding: the approval message shows the outcome, and the requester
    hears of it. Best effort, once: the decision is committed whatever Slack answers."""
    settings = runtime.settings
    if not settings.slack_bot_token:
        return ("Slack was not told (SLACK_BOT_TOKEN is not set here): the approval message shows the decision "
                "once someone presses one of its buttons.")
    from bot.slack_client import slack_client
    from handlers.decision_announcer import announce_decision

    outcomes = announce_decision(slack_client(settings.slack_bot_token, settings.slack_api_url), request,
                                 runtime.database())
    if not outcomes:
        return "Nothing to update in Slack."
    done = [said for worked, said in outcomes if worked]
    failed = [said for worked, said in outcomes if not worked]
    return f"In Slack: {'; '.join(done + failed)}."


# -- demo -----------------------------------------------------------------------------------------------------


@click.command()
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
    print_campaigns(runtime)
    with database.snapshot() as session:
        sample = search_prospects(session, "", limit=1).items
    if sample:
        click.echo(f"\nTry:  prospectbot find {sample[0].first_name.lower()[:3]}\n"
                   f"      prospectbot show {sample[0].email}")
