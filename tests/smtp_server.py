"""A real SMTP server for the tests (aiosmtpd) on a random loopback port, keeping every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """aiosmtpd handler: keeps every message; refuses one address, as a real server refuses a dead mailbox."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001, ANN201
        if address == self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def running_smtp_server(refuse: str | None = None) -> Iterator[Mailbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(refuse=refuse)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(name="mailbox")
def mailbox_fixture() -> Iterator[Mailbox]:
    """The SMTP server; it refuses gone@acme.com."""
    yield from running_smtp_server(refuse="gone@acme.com")
