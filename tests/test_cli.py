"""The command line, as operators and scripts use it: real commands against both databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_find_show_dnc_delete_journey(run, tmp_path):
    csv_file = write(tmp_path / "leads.csv", "Email,First Name,Last Name,Company\n"
                     "jane@acme.com,Jane,Doe,Acme\nbob@acme.com,Bob,Stone,Acme\nnope,No,One,X\n")
    code, out, _ = run("import", csv_file, "--campaign", "Q4 Outreach")
    assert code == 0
    assert 'Imported leads.csv into "Q4 Outreach": 3 rows.' in out
    assert "new contacts" in out and "line 4: nope" in out

    code, out, _ = run("find", "acme")
    assert code == 0 and "jane@acme.com" in out and "bob@acme.com" in out

    code, out, _ = run("dnc", "Jane@Acme.com", "unknown@else.io", "--reason", "requested")
    assert code == 0
    assert "Marked 1 prospect do not contact (requested)." in out
    assert "blocked from future imports: unknown@else.io" in out

    code, out, _ = run("show", "jane@acme.com")
    assert code == 0 and "Do not contact: requested (cli, by cli:ops" in out and "Q4 Outreach [active]" in out

    code, out, _ = run("campaigns")
    assert "Q4 Outreach" in out and out.split()[-2:] == ["2", "1"]  # 2 members, 1 sendable

    code, out, _ = run("delete", "bob@acme.com", "--yes")
    assert code == 0 and "A later import of this address will add them back as a new contact." in out
    code, out, _ = run("delete", "jane@acme.com", "--yes")
    assert "stays blocked from future imports because they had opted out themselves" in out

    code, out, _ = run("import", write(tmp_path / "again.csv", "email\njane@acme.com\nbob@acme.com\nunknown@else.io\n"),
                       "--campaign", "Q4 Outreach", "--report", str(tmp_path / "report.csv"))
    assert code == 0
    report = (tmp_path / "report.csv").read_text().splitlines()
    assert report == ["line,email,outcome,message",
                      "2,jane@acme.com,skipped_blocked,this address was deleted and blocked from imports",
                      "3,bob@acme.com,new,",
                      "4,unknown@else.io,skipped_blocked,this address was deleted and blocked from imports"]


def test_find_json_output_and_paging(run, tmp_path):
    rows = "".join(f"lee{n}@example.com,Lee,N{n:02}\n" for n in range(5))
    run("import", write(tmp_path / "l.csv", "email,first_name,last_name\n" + rows), "--campaign", "C")
    code, out, _ = run("find", "lee", "--per-page", "2", "--page", "3", "--json")
    assert code == 0 and len(out.splitlines()) == 1 and '"email": "lee4@example.com"' in out
    code, out, _ = run("find", "lee", "--per-page", "2")
    assert "More matches: add --page 2." in out


@pytest.mark.parametrize(
    "args,expected",
    [
        (["dnc", "jane@acme", "--reason", "requested"], "Not valid email addresses: \"jane@acme\""),
        (["dnc", "jane@acme.com", "--reason", "other"], 'The reason "other" needs a note saying why.'),
        (["find", "x", "--campaign", "Nope"], 'There is no campaign named "Nope".'),
        (["show", "ghost@acme.com"], "No prospect has the address ghost@acme.com."),
        (["delete", "ghost@acme.com", "--yes"], "No prospect has the address ghost@acme.com."),
    ],
)
def test_bad_input_gets_one_clear_line_and_changes_nothing(run, args, expected):
    code, out, err = run(*args)
    assert code != 0
    assert expected in err and len(err.strip().splitlines()) == 1
    code, out, _ = run("campaigns")
    assert "No campaigns yet" in out


def test_import_of_a_workbook_writes_nothing(run, tmp_path):
    book = tmp_path / "leads.xlsx"
    book.write_bytes(b"PK\x03\x04" + bytes(500))
    code, _, err = run("import", str(book), "--campaign", "Q4")
    assert code == 1 and "Excel workbook" in err and "Nothing was imported." in err
    assert "No campaigns yet" in run("campaigns")[1]


def test_delete_asks_and_warns_before_deleting(run, tmp_path):
    run("import", write(tmp_path / "l.csv", "email\nbob@acme.com\n"), "--campaign", "C")
    code, out, err = run("delete", "bob@acme.com")
    assert code == 1
    assert "they will be treated as a new contact and may be emailed again" in out
    assert "confirm with --yes" in err
    assert "bob@acme.com" in run("find", "bob")[1]


def test_demo_loads_once_and_shows_itself(run):
    code, out, _ = run("demo")
    assert code == 0 and "Loaded 3,000 prospects in 5 campaigns" in out and "Demo · SaaS founders Q4" in out
    assert "Try:  prospectbot find" in out
    code, out, _ = run("demo")
    assert "The demo data is already loaded." in out
    code, out, _ = run("find", "a", "--campaign", "Demo · Agencies Paris")
    assert code == 0 and "@" in out


# -- the installed entry point, in a real process -------------------------------------------------------------


def prospectbot(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    # The console script pip installed beside this interpreter: the entry point users run.
    script = Path(sys.executable).parent / "prospectbot"
    return subprocess.run([str(script), *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def test_first_use_creates_the_embedded_database_and_keeps_its_key(tmp_path):
    first = prospectbot(tmp_path, "campaigns")
    assert first.returncode == 0, first.stderr
    assert "No campaigns yet" in first.stdout
    key_file = tmp_path / "prospectbot.db.key"
    key = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert prospectbot(tmp_path, "campaigns").returncode == 0
    assert key_file.read_text() == key  # never regenerated


def test_a_different_key_is_refused(tmp_path):
    assert prospectbot(tmp_path, "campaigns").returncode == 0
    result = prospectbot(tmp_path, "campaigns", env={"SECRET_KEY": "x" * 40})
    assert result.returncode == 1
    assert result.stderr.startswith("Error: SECRET_KEY is not the key this database was created with")
    assert "Traceback" not in result.stderr


def test_a_database_whose_key_file_is_missing_is_refused_and_no_new_key_is_made(tmp_path):
    assert prospectbot(tmp_path, "campaigns").returncode == 0
    key_file = tmp_path / "prospectbot.db.key"
    key_file.unlink()
    result = prospectbot(tmp_path, "campaigns")
    assert result.returncode == 1
    assert result.stderr == ("Error: The database prospectbot.db was created with a key kept in prospectbot.db.key, "
                             "which is missing: restore it from a backup (or set SECRET_KEY to that key).\n")
    assert [path.name for path in tmp_path.iterdir() if ".key" in path.name] == []


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    assert prospectbot(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / "from-dotenv.db").exists() and not (tmp_path / "prospectbot.db").exists()


def test_postgresql_without_a_secret_key_names_the_variable(tmp_path):
    result = prospectbot(tmp_path, "campaigns", env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert result.returncode == 1 and result.stderr.startswith("Error: SECRET_KEY is not set")


def test_an_unreachable_database_is_one_line(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = prospectbot(tmp_path, "campaigns", env={"DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/x",
                                                     "SECRET_KEY": "k" * 40})
    assert result.returncode == 1
    assert result.stderr.startswith("Error: The database is unavailable right now")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_out_of_date_shared_database_asks_for_db_upgrade(tmp_path, _postgres):
    # A schema-less database on the same server: what a new team database looks like before `db upgrade`.
    import psycopg

    from tests.support import POSTGRES_URL
    admin = POSTGRES_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS prospectbot_fresh")
        conn.execute("CREATE DATABASE prospectbot_fresh")
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/prospectbot_fresh"
    env = {"DATABASE_URL": url, "SECRET_KEY": "k" * 40}
    result = prospectbot(tmp_path, "campaigns", env=env)
    assert result.returncode == 1 and "run `prospectbot db upgrade` once" in result.stderr
    upgraded = prospectbot(tmp_path, "db", "upgrade", env=env)
    assert upgraded.returncode == 0 and "migrated from an empty database to revision" in upgraded.stdout
    assert prospectbot(tmp_path, "campaigns", env=env).returncode == 0


def test_campaign_settings_from_the_command_line(run, tmp_path):
    run("import", write(tmp_path / "l.csv", "email\nbob@acme.com\n"), "--campaign", "Q4")
    code, out, _ = run("campaign", "q4", "--channel", "C0Q4SALES", "--subject", "Hi $first_name")
    assert code == 0 and "notifications: C0Q4SALES" in out and "subject: Hi $first_name" in out
    code, _, err = run("campaign", "Q4", "--channel", "#sales")
    assert code == 1 and '"sales" is not a Slack channel id' in err
    code, out, _ = run("campaign", "Q4")
    assert "notifications: C0Q4SALES" in out
