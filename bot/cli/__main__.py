"""`python -m bot.cli`: the same as the `prospectbot` command."""

from bot.cli import main

main()
