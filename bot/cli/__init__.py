"""`prospectbot`: the command line operators and scripts use. Every command prints one clear line on bad input
and exits non-zero; nobody sees a traceback unless they ask for one with PROSPECTBOT_DEBUG=1.

The commands live by concern: `prospects` (import, find, show, dnc, delete, lift), `campaigns` (campaigns,
campaign, send), `admin` (db, roles, requests, demo) and `processes` (run, serve, worker); `output` prints for
all of them, and `runtime` is what they share (settings, the database, the actor)."""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv

from bot.cli import admin, campaigns, processes, prospects
from bot.cli.runtime import Runtime, cli_actor
from bot.settings import ConfigurationError
from storage.errors import ProspectbotError

__all__ = ["FriendlyGroup", "Runtime", "cli", "cli_actor", "main"]

DEBUG_VARIABLE = "PROSPECTBOT_DEBUG"


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


def installed_version() -> str:
    try:
        return metadata.version("prospectbot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(version unknown: not installed with pip)"


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"prospectbot {installed_version()}")
        ctx.exit()


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """prospectbot: manage who your cold-email campaigns may contact."""
    runtime = Runtime()
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


for command in (
    processes.run, processes.serve, processes.worker, processes.inbox,
    prospects.import_command, prospects.find, prospects.show, prospects.dnc, prospects.lift, prospects.delete,
    campaigns.campaigns, campaigns.campaign, campaigns.send,
    admin.roles, admin.requests, admin.demo, admin.db,
):
    cli.add_command(command)


def main() -> None:
    # .env from the working directory; variables already set in the environment win.
    load_dotenv(Path.cwd() / ".env")
    cli(prog_name="prospectbot")
