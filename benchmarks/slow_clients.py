"""Slow clients against `prospectbot serve` (issue 12): connections held open, each sending one header line every
few seconds and never finishing its request, while the requests that matter are timed — signed `/prospect`
commands, which Slack gives up on after 3 seconds, and one-click unsubscribe POSTs.

Two setups, each a real process started as the README says: `serve` alone (waitress with the settings in
bot/runners.py), and `serve` behind nginx with the README's configuration (the same limits, without TLS). For each:
no slow clients (the floor), --slow of them (500, half waitress's connection limit), and --beyond (1,200, more than
its limit). While the slow connections are held, the two kinds of request run side by side, each --requests times
one after another on a new connection, with Slack's 3-second deadline as the timeout; after --hold seconds the
script counts how many slow connections the server closed.

A figure, not a timed test: loopback only, bounded (about 90 seconds). Installs nginx with apt when it is missing
(as root); --no-nginx measures `serve` alone.

Usage: python -m benchmarks.slow_clients [--slow 500] [--beyond 1200] [--requests 10] [--hold 12]
       [--postgres-url URL] [--no-nginx]
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select as select_rows
from sqlalchemy import text

from benchmarks.common import median
from storage.db import Database
from storage.models import Membership
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.support import TEST_SECRET_KEY

SIGNING_SECRET = "slow-clients-signing-secret-0123456789"
SLACK_DEADLINE = 3.0
INTERVAL = 5.0  # seconds between two header lines of a slow client, as in the report
SETTLED_SOCKETS = 20

# The README's nginx configuration ("Deploying for a team"), without TLS, on loopback ports of this run.
NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 8192;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    upstream prospectbot {{
        server 127.0.0.1:{upstream};
        keepalive 16;
        keepalive_timeout 20s;
    }}
    server {{
        listen 127.0.0.1:{port};

        client_header_timeout 10s;
        client_body_timeout 10s;
        send_timeout 10s;
        keepalive_timeout 15s;
        keepalive_requests 1000;
        reset_timedout_connection on;
        client_header_buffer_size 1k;
        large_client_header_buffers 4 8k;
        client_max_body_size 2m;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_request_buffering on;
        proxy_connect_timeout 5s;
        proxy_send_timeout 30s;
        proxy_read_timeout 30s;

        location / {{
            proxy_pass http://prospectbot;
        }}
        location /unsubscribe/ {{
            client_max_body_size 4k;
            proxy_pass http://prospectbot;
        }}
    }}
}}
"""


class SlowClients:
    """`count` connections to host:port, each sending a request line and then one header line every `interval`
    seconds, never the blank line that ends the header. `closed` counts those the server has closed."""

    def __init__(self, host: str, port: int, count: int, interval: float = INTERVAL) -> None:
        self.address = (host, port)
        self.count = count
        self.interval = interval
        self.sockets: list[socket.socket] = []
        self.closed: set[int] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._trickle, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: slow.example\r\n")
            sock.setblocking(False)
            self.sockets.append(sock)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()

    @property
    def open(self) -> int:
        with self._lock:
            return self.count - len(self.closed)

    def _trickle(self) -> None:
        # poll(), not select(): the client holds descriptors above 1,024 too.
        poller = select.poll()
        by_fd = {sock.fileno(): index for index, sock in enumerate(self.sockets)}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        line = 0
        next_line = time.monotonic() + self.interval
        while not self._stop.is_set():
            for fd, _ in poller.poll(max(0.0, min(0.2, next_line - time.monotonic())) * 1000):
                # Anything readable is the server giving up on the request: an error page, the end, a reset.
                self._close(by_fd[fd])
                poller.unregister(fd)
            if time.monotonic() >= next_line:
                line += 1
                for index, sock in enumerate(self.sockets):
                    if index not in self.closed:
                        try:
                            sock.send(f"X-Slow-{line}: still typing\r\n".encode())
                        except OSError:
                            self._close(index)
                next_line += self.interval

    def _close(self, index: int) -> None:
        with self._lock:
            self.closed.add(index)


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


def open_sockets(pid: int) -> int:
    """How many sockets the process holds: the connections it has accepted, and a few of its own."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += fd.readlink().name.startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


def cpu_pressure() -> str:
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "unavailable"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.1)


@contextmanager
def serve(database_url: str, fake: FakeSlack, workdir: Path) -> Iterator[tuple[int, int]]:
    """`prospectbot serve` as an operator starts it; yields its port and process id."""
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "DATABASE_URL"))}
    environment.update(DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET_KEY.decode(), SLACK_BOT_TOKEN="xoxb-bench",
                       SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
                       SLACK_NOTIFY_CHANNEL="C0BENCH", PROSPECTBOT_LOG_LEVEL="error")
    with (workdir / "serve.log").open("wb") as log:
        process = subprocess.Popen([str(Path(sys.executable).parent / "prospectbot"), "serve", "--port", str(port)],
                                   cwd=workdir, env=environment, stdout=log, stderr=log)
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/healthz", process, "prospectbot serve")
            yield port, process.pid
        finally:
            process.terminate()
            process.wait(timeout=15)


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing nginx with apt …", file=sys.stderr, flush=True)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL, env=environment)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, stdout=subprocess.DEVNULL,
                       env=environment)
        found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not found:
        raise SystemExit("nginx is not installed: apt-get install nginx (or run with --no-nginx)")
    return found


@contextmanager
def nginx(upstream: int, workdir: Path) -> Iterator[int]:
    """nginx in front of `upstream`, configured as the README says; yields its port."""
    directory = workdir / "nginx"
    directory.mkdir()
    os.chmod(workdir, 0o755)  # nginx's workers run as an unprivileged user when it is started as root
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, upstream=upstream, port=port))
    process = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(directory)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/healthz", process, "nginx")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


@dataclass
class Timings:
    answered: list[float] = field(default_factory=list)  # seconds, of those answered within Slack's deadline
    failed: int = 0


class Requests:
    """The requests that matter, each on a new connection, as Slack and mailbox providers send them."""

    def __init__(self, fake: FakeSlack, tokens: Iterator[str]) -> None:
        self.fake = fake
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self.tokens = tokens

    def command(self, base: str) -> bool:
        body = urlencode({
            "token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0SALES",
            "channel_name": "sales", "user_id": "U0ALICE", "user_name": "alice", "command": "/prospect", "text": "",
            "api_app_id": "A0APP", "response_url": f"{self.fake.api_url}response_url/U0ALICE",
            "trigger_id": f"trigger-{time.time_ns()}"})
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": str(self.verifier.generate_signature(timestamp=timestamp, body=body))}
        return self._post(f"{base}/slack/events", body.encode(), headers)

    def unsubscribe(self, base: str) -> bool:
        return self._post(f"{base}/unsubscribe/{next(self.tokens)}", b"List-Unsubscribe=One-Click",
                          {"Content-Type": "application/x-www-form-urlencoded"})

    @staticmethod
    def _post(url: str, body: bytes, headers: dict[str, str]) -> bool:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=SLACK_DEADLINE) as response:
                response.read()
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False


def timed(send: Callable[[str], bool], base: str, count: int, into: Timings) -> None:
    for _ in range(count):
        start = time.perf_counter()
        ok = send(base)
        elapsed = time.perf_counter() - start
        if ok and elapsed <= SLACK_DEADLINE:
            into.answered.append(elapsed)
        else:
            into.failed += 1


@dataclass
class Row:
    setup: str
    slow: int
    kind: str
    timings: Timings
    sockets: int
    closed: str


def measure(setup: str, port: int, serve_pid: int, slow: int, requests: Requests, count: int,
            hold: float) -> list[Row]:
    base = f"http://127.0.0.1:{port}"
    commands, unsubscribes = Timings(), Timings()
    # The previous row's connections gone from `serve` (its own, and up to 16 idle ones from nginx stay).
    settle_by = time.monotonic() + 30
    while open_sockets(serve_pid) > SETTLED_SOCKETS and time.monotonic() < settle_by:
        time.sleep(0.2)
    with ExitStack() as stack:
        clients = stack.enter_context(SlowClients("127.0.0.1", port, slow)) if slow else None
        held_from = time.monotonic()
        time.sleep(1.0 if slow else 0.0)  # every slow connection accepted, or queued behind the others
        sockets = open_sockets(serve_pid)
        # The two kinds side by side, as real traffic comes.
        threads = [threading.Thread(target=timed, args=(requests.command, base, count, commands)),
                   threading.Thread(target=timed, args=(requests.unsubscribe, base, count, unsubscribes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if clients is not None:
            time.sleep(max(0.0, held_from + hold - time.monotonic()))
            closed = f"{clients.count - clients.open:,} of {clients.count:,}"
        else:
            closed = "—"
    print(f"  {setup}, {slow:,} slow: commands {len(commands.answered)}/{count}, unsubscribes "
          f"{len(unsubscribes.answered)}/{count}, slow closed {closed}", file=sys.stderr, flush=True)
    return [Row(setup, slow, "signed `/prospect`", commands, sockets, closed),
            Row(setup, slow, "one-click unsubscribe POST", unsubscribes, sockets, closed)]


def table(rows: list[Row], count: int, hold: float) -> str:
    lines = [f"| setup | slow connections | sockets `serve` holds | request | answered within 3 s (of {count}) | "
             f"median | max | slow connections the server closed within {hold:g} s |",
             "|---|---:|---:|---|---:|---:|---:|---|"]
    for row in rows:
        answered = row.timings.answered
        middle = f"{median(answered) * 1000:,.0f} ms" if answered else "—"
        slowest = f"{max(answered) * 1000:,.0f} ms" if answered else "—"
        lines.append(f"| {row.setup} | {row.slow:,} | {row.sockets:,} | {row.kind} | {len(answered)} | {middle} | "
                     f"{slowest} | {row.closed} |")
    return "\n".join(lines)


def seeded_database(url: str, memberships: int) -> list[str]:
    """A migrated database holding one campaign of `memberships` prospects; returns their unsubscribe tokens."""
    database = Database(url)
    try:
        if database.url.get_backend_name() == "postgresql":
            with database.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        database.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=True)
        with database.transaction() as session:
            campaign = factories.campaign(session, "Q4 Outreach")
            for number in range(memberships):
                factories.prospect(session, f"person{number}@acme.example", campaign)
            ids = session.scalars(select_rows(Membership.id).order_by(Membership.id)).all()
        return [unsubscribe_token(TEST_SECRET_KEY, membership) for membership in ids]
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=500, help="slow connections, within the connection limit")
    parser.add_argument("--beyond", type=int, default=1200, help="slow connections beyond it (0: skip)")
    parser.add_argument("--requests", type=int, default=10, help="requests of each kind per row")
    parser.add_argument("--hold", type=float, default=12.0, help="seconds the slow connections are held")
    parser.add_argument("--postgres-url", default="", help="PostgreSQL instead of SQLite (its schema is rebuilt)")
    parser.add_argument("--no-nginx", action="store_true", help="measure `serve` alone")
    args = parser.parse_args()
    started = time.monotonic()
    pressure_before = cpu_pressure()
    # This process holds every slow connection.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(args.slow, args.beyond) + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted,
                                                     hard))
    slow_counts = [0, args.slow] + ([args.beyond] if args.beyond else [])
    setups = 1 if args.no_nginx else 2
    with tempfile.TemporaryDirectory(prefix="prospectbot-slow-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        database_url = args.postgres_url or f"sqlite:///{workdir / 'slow.db'}"
        tokens = iter(seeded_database(database_url, setups * len(slow_counts) * args.requests))
        fake = stack.enter_context(_fake_slack())
        requests = Requests(fake, tokens)
        upstream, serve_pid = stack.enter_context(serve(database_url, fake, workdir))
        ports = {"`serve` alone": upstream}
        if not args.no_nginx:
            ports["nginx → `serve`"] = stack.enter_context(nginx(upstream, workdir))
        rows = []
        for setup, port in ports.items():
            for slow in slow_counts:
                rows += measure(setup, port, serve_pid, slow, requests, args.requests, args.hold)
    print(table(rows, args.requests, args.hold))
    print()
    print(f"database: {'PostgreSQL' if args.postgres_url else 'SQLite'}; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}; took {time.monotonic() - started:.0f} s")
    print(f"/proc/pressure/cpu before: {pressure_before}")
    print(f"/proc/pressure/cpu after:  {cpu_pressure()}")


@contextmanager
def _fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
