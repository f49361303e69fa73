"""Reading raw inbound mail (storage.mail_reading): bounces and their recipient, status and original Message-ID;
automatic replies; a reply's own new text without quoted history in six languages; charsets that lie; HTML-only
mail; and bytes that are not mail at all — read_mail never raises, whatever it is given."""

from __future__ import annotations

import base64
import json
import random
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.mail_reading import KINDS, InboundMail, read_mail
from tests.data.replies.corpus import HERE, load_corpus
from tests.support import best_seconds

EML = HERE / "eml"
EXPECTED = json.loads((EML / "expected.json").read_text(encoding="utf-8"))


def mail(body: str | bytes, *headers: str, content_type: str = "text/plain; charset=utf-8",
         transfer: str = "8bit") -> bytes:
    """A message with the given header lines (From/To/Subject defaults added) and body."""
    names = {line.split(":", 1)[0].lower() for line in headers}
    lines = list(headers)
    lines += [default for default in ("From: Ana <ana@prospect.example>", "To: Tom <tom@sender.test>",
                                      "Subject: Re: Quick question") if default.split(":")[0].lower() not in names]
    lines += ["MIME-Version: 1.0", f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {transfer}"]
    payload = body if isinstance(body, bytes) else body.encode("utf-8")
    return "\n".join(lines).encode("utf-8") + b"\n\n" + payload


# --- bounces ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bounces_name_their_recipient_status_and_original(name):
    facts = EXPECTED[name]
    read = read_mail((EML / name).read_bytes())
    assert read.kind == name.split("/")[0]
    assert read.bounced_recipients[0] == facts["recipient"]
    assert read.bounce_status == facts["status"]
    if facts["original_message_id"]:
        assert facts["original_message_id"] in read.original_message_ids


def _report(action: str, status: str, *extra_headers: str) -> bytes:
    return mail(f"""--R
Content-Type: text/plain

Delivery report.

--R
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: rfc822; <ines@prospect.example>
Action: {action}
Status: {status}

--R
Content-Type: text/rfc822-headers

Message-ID: <campaign-42@sender.test>
To: ines@prospect.example

--R--
""", "From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>", "Subject: Delivery report", *extra_headers,
        content_type='multipart/report; report-type=delivery-status; boundary="R"')


@pytest.mark.parametrize(("action", "status", "kind"), [
    ("failed", "5.1.1", "hard_bounce"),
    ("failed", "5.2.2 (mailbox full)", "hard_bounce"),
    ("failed", "4.4.7", "soft_bounce"),  # given up on, but for a temporary reason
    ("delayed", "4.2.2", "soft_bounce"),
])
def test_a_delivery_report_is_hard_or_soft_by_its_action_and_status(action, status, kind):
    read = read_mail(_report(action, status))
    assert (read.kind, read.bounced_recipients, read.original_message_ids) == (
        kind, ("ines@prospect.example",), ("campaign-42@sender.test",))
    assert read.bounce_status == status.split()[0]


def test_a_report_sent_as_an_automatic_reply_is_still_a_bounce():
    assert read_mail(_report("failed", "5.1.1", "Auto-Submitted: auto-replied", "X-Autoreply: yes")).kind == "hard_bounce"


def test_a_report_that_says_delivered_is_an_automatic_message_not_a_bounce():
    read = read_mail(_report("delivered", "2.0.0"))
    assert (read.kind, read.bounced_recipients) == ("auto_reply", ())


def test_a_person_quoting_an_smtp_error_is_not_a_bounce():
    read = read_mail(mail("Hi Tom, your email to my colleague bounced with 550 5.1.1 user unknown. Use info@x.com."))
    assert read.kind == "reply"


# --- automatic replies --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated", "Auto-Submitted: auto-notified; owner-email=x",
    "X-Autoreply: yes", "X-Autorespond: Vacation", "Precedence: auto_reply",
])
def test_rfc_3834_headers_make_an_automatic_reply(header):
    assert read_mail(mail("Thanks for your message.", header)).kind == "auto_reply"


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "X-Auto-Response-Suppress: All", "Precedence: bulk"])
def test_headers_ordinary_mail_also_carries_do_not_make_one(header):
    assert read_mail(mail("Sounds good, Tuesday works.", header)).kind == "reply"


def test_exchange_s_suppress_header_with_an_away_subject_makes_one():
    read = read_mail(mail("Thanks.", "X-Auto-Response-Suppress: All", "Subject: Away: Quick question"))
    assert read.kind == "auto_reply"


@pytest.mark.parametrize("subject", [
    "Out of Office: Quick question", "Automatic reply: Quick question", "Respuesta automática: Pregunta",
    "Fuera de la oficina", "Réponse automatique : Question", "Absence du bureau", "Abwesenheitsnotiz",
    "Automatische Antwort: Frage", "Resposta automática: Pergunta", "Ausente", "Risposta automatica: Domanda",
    "Fuori sede",
])
def test_away_subjects_in_six_languages(subject):
    assert read_mail(mail("Thank you for your message.", f"Subject: {subject}")).kind == "auto_reply"


@pytest.mark.parametrize("body", [
    "I am out of the office until 12 March with limited access to email.",
    "Estoy de vacaciones hasta el 24 de marzo. Para asuntos urgentes, contacte con info@x.es.",
    "Je suis absente jusqu'au 12 mars.",
    "Ich bin bis zum 14. März im Urlaub.",
    "Estou de férias até o dia 24 de março.",
    "Sono fuori ufficio fino al 10 marzo.",
])
def test_away_notices_recognised_by_their_text(body):
    assert read_mail(mail(body)).kind == "auto_reply"


@pytest.mark.parametrize("body", [
    "I'm on holiday until Monday but yes, let's talk - does Tuesday work?",  # asks something back
    "Estoy de vacaciones hasta el lunes. Por favor, dadme de baja de vuestra lista.",  # asks to stop
    "I'm travelling until Thursday, free Friday.\n\nOn Mon, 3 Mar 2025 at 10:02, Tom <tom@sender.test> wrote:\n> Hi",
])
def test_a_person_writing_that_they_are_away_is_still_a_person(body):
    assert read_mail(mail(body)).kind == "reply"


# --- a reply's own text -------------------------------------------------------------------------------------------

QUOTED = "> Hi, worth a call? Reply \"unsubscribe\" and I will remove you from my list."


@pytest.mark.parametrize("attribution", [
    "On Mon, 3 Mar 2025 at 10:02, Tom Baker <tom@sender.test> wrote:",
    "On Mon, 3 Mar 2025 at 10:02, Tom Baker <\ntom@sender.test> wrote:",  # wrapped by Gmail
    "El lun, 3 mar 2025 a las 10:02, Tomás (<tomas@sender.test>) escribió:",
    "Le lun. 3 mars 2025 à 10:02, Thomas <thomas@sender.test> a écrit :",
    "Am Mo., 3. März 2025 um 10:02 Uhr schrieb Thomas Becker <thomas@sender.test>:",
    "Em seg., 3 de mar. de 2025 às 10:02, Tomás <tomas@sender.test> escreveu:",
    "Il giorno lun 3 mar 2025 alle ore 10:02 Tommaso <tommaso@sender.test> ha scritto:",
    "2015-03-03 10:02 GMT+01:00 Tom Baker <tom@sender.test>:",  # older Gmail: no verb, a date and an address
])
def test_attribution_lines_start_the_history_in_six_languages(attribution):
    read = read_mail(mail(f"Sounds good, call me Tuesday.\n\n{attribution}\n\n{QUOTED}\n"))
    assert read.new_text == "Sounds good, call me Tuesday."


@pytest.mark.parametrize("block", [
    "From: Tom Baker <tom@sender.test>\nSent: Monday, March 3, 2025 10:02 AM\nTo: Ana\nSubject: Quick question",
    "De: Tomás <tomas@sender.test>\nEnviado el: lunes, 3 de marzo de 2025 10:02\nPara: Ana\nAsunto: Pregunta",
    "De : Thomas <thomas@sender.test>\nEnvoyé : lundi 3 mars 2025 10:02\nÀ : Ana\nObjet : Question",
    "Von: Thomas <thomas@sender.test>\nGesendet: Montag, 3. März 2025 10:02\nAn: Ana\nBetreff: Frage",
    "De: Tomás <tomas@sender.test>\nEnviado: segunda-feira, 3 de março de 2025 10:02\nPara: Ana\nAssunto: Pergunta",
    "Da: Tommaso <tommaso@sender.test>\nInviato: lunedì 3 marzo 2025 10:02\nA: Ana\nOggetto: Domanda",
    "*From:* Tom Baker <tom@sender.test>\n*Sent:* Monday, March 3, 2025\n*To:* Ana",
    "-----Original Message-----\nFrom: Tom Baker",
    "-----Ursprüngliche Nachricht-----\nVon: Thomas",
    "________________________________\nFrom: Tom Baker",
    "---------- Forwarded message ---------\nFrom: Tom Baker <tom@sender.test>",
])
def test_outlook_header_blocks_and_banners_start_the_history(block):
    read = read_mail(mail(f"Not for us, thanks.\n\n{block}\n\nHi, reply \"unsubscribe\" to stop these.\n"))
    assert read.new_text == "Not for us, thanks."


@pytest.mark.parametrize("signature", [
    "-- \nAna Ruiz\nUnsubscribe from our newsletter: example.com/u", "Sent from my iPhone", "Enviado desde mi iPhone",
    "Envoyé de mon iPhone", "Von meinem iPhone gesendet", "Enviado do meu iPhone", "Inviato da iPhone",
    "Get Outlook for Android",
])
def test_signatures_are_left_out(signature):
    assert read_mail(mail(f"Yes, send the deck.\n\n{signature}\n")).new_text == "Yes, send the deck."


def test_inline_answers_between_quotes_are_kept_and_quotes_dropped():
    text = "Tom Baker <tom@sender.test> writes:\n\n> Hiring SDRs?\n\nYes, two.\n\n> A call?\n\nTuesday works.\n" + QUOTED
    assert read_mail(mail(text)).new_text == "Yes, two.\n\nTuesday works."


def test_a_reply_below_the_quote_is_found():
    text = f"On Mon, 3 Mar 2025 at 10:02, Tom <tom@sender.test> wrote:\n{QUOTED}\n\nPlease take me off your list.\n"
    assert read_mail(mail(text)).new_text == "Please take me off your list."


def test_legal_footers_are_left_out():
    text = ("Interested, send pricing.\n\nAna\n\nThis e-mail and any attachments are confidential. If you are not the "
            "intended recipient, please delete it and remove it from your system.")
    assert read_mail(mail(text)).new_text == "Interested, send pricing.\n\nAna"


def test_html_only_mail_is_read_as_text_without_gmail_s_quote():
    html = ('<div dir="ltr">Hola,<br>elimin&aacute;dme de la lista.</div><div class="gmail_quote">'
            '<blockquote class="gmail_quote">Si no te interesa, responde "baja".</blockquote></div>')
    read = read_mail(mail(html, content_type="text/html; charset=utf-8"))
    assert read.new_text == "Hola,\neliminádme de la lista."


def test_html_only_mail_from_outlook_ends_where_the_history_begins():
    html = ('<html><head><style>p{margin:0}</style></head><body><p>Please remove me.</p><div id="appendonsend">'
            '</div><hr><div id="divRplyFwdMsg"><b>From:</b> Tom</div><div>Reply unsubscribe</div></body></html>')
    assert read_mail(mail(html, content_type="text/html")).new_text == "Please remove me."


def test_plain_text_is_preferred_to_html_and_attachments_are_skipped():
    body = ("--M\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\nPlain words.\n"
            "--A\nContent-Type: text/html\n\n<p>HTML words</p>\n--A--\n--M\nContent-Type: text/plain; name=notes.txt\n"
            "Content-Disposition: attachment; filename=notes.txt\n\nunsubscribe\n--M--\n")
    read = read_mail(mail(body, content_type="multipart/mixed; boundary=M"))
    assert read.new_text == "Plain words."


# --- charsets and encodings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "charset", "transfer", "expected"), [
    ("Désabonnez-moi".encode("latin-1"), "iso-8859-1", "8bit", "Désabonnez-moi"),
    (b"=E9l=E9ment", "iso-8859-1", "quoted-printable", "élément"),
    ("I’d rather not – thanks".encode("cp1252"), "windows-1252", "8bit", "I’d rather not – thanks"),
    ("Désabonnez-moi".encode("latin-1"), "us-ascii", "8bit", "Désabonnez-moi"),  # says ASCII, is Latin-1
    ("Löschen Sie mich".encode(), "iso-8859-1", "8bit", "Löschen Sie mich"),  # says Latin-1, is UTF-8
    (base64.b64encode("Bitte austragen – danke".encode()), "utf-8", "base64", "Bitte austragen – danke"),
])
def test_text_is_decoded_even_when_its_charset_lies(payload, charset, transfer, expected):
    read = read_mail(mail(payload, content_type=f"text/plain; charset={charset}", transfer=transfer))
    assert read.new_text == expected


def test_an_unknown_charset_is_read_as_utf8_or_windows_1252_and_said():
    read = read_mail(mail("Cancellatemi, perché?".encode("cp1252"), content_type="text/plain; charset=x-klingon"))
    assert read.new_text == "Cancellatemi, perché?"
    assert any("x-klingon" in problem for problem in read.problems)


def test_broken_base64_keeps_what_it_can_and_says_so():
    stray = read_mail(mail(base64.b64encode(b"Happy to talk next week.") + b"!!#", transfer="base64"))
    assert stray.new_text == "Happy to talk next week."
    unpadded = read_mail(mail(base64.b64encode(b"Happy to talk next week!!").rstrip(b"="), transfer="base64"))
    assert unpadded.new_text.startswith("Happy to talk next week") and unpadded.problems


def test_headers_are_decoded_from_encoded_words_and_raw_8_bit():
    read = read_mail(mail("Hi", "Subject: =?iso-8859-1?q?R=E9ponse_rapide?= =?utf-8?b?4pyT?=",
                          "From: =?utf-8?q?Jos=C3=A9_P=C3=A9rez?= <jose@prospect.example>"))
    assert (read.subject, read.from_address) == ("Réponse rapide✓", "jose@prospect.example")
    raw = mail("Hi", "Subject: Re: Una pregunta rápida", "From: Zoë <zoe@prospect.example>")
    assert read_mail(raw).subject == "Re: Una pregunta rápida"
    unknown = read_mail(mail("Hi", "Subject: =?x-klingon?q?caf=E9?="))
    assert unknown.subject == "café" and unknown.problems


# --- who, to whom, in answer to what -----------------------------------------------------------------------------

def test_ids_and_addresses_are_read_as_written():
    read = read_mail(mail(
        "Hi", "Message-ID: <CAF+x1@mail.gmail.com>", "In-Reply-To: <b@sender.test>",
        "References: <a@sender.test>\n <b@sender.test> <c@sender.test>", 'From: "Doe, Jane" <Jane.Doe@Prospect.example>',
        "To: Tom <tom@sender.test>, sales@sender.test", "Cc: Ana <ana@sender.test>", "Delivered-To: tom+inbox@sender.test",
        "X-Original-To: TOM@sender.test", "Envelope-To: bounces@sender.test"))
    assert read == InboundMail(
        kind="reply", message_id="CAF+x1@mail.gmail.com", refers_to=("b@sender.test", "a@sender.test", "c@sender.test"),
        from_address="Jane.Doe@Prospect.example",
        to_addresses=("tom@sender.test", "sales@sender.test", "ana@sender.test", "tom+inbox@sender.test",
                      "bounces@sender.test"),
        subject="Re: Quick question", new_text="Hi", bounced_recipients=(), bounce_status=None,
        original_message_ids=(), problems=())


# --- never raises -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "problem"), [
    (b"", "empty"), (b"   \r\n", "empty"), (b"just some words, no headers", "not an email"),
    (bytes(range(256)) * 8, "not an email"),
])
def test_bytes_that_are_not_mail_are_unreadable_with_a_reason(raw, problem):
    read = read_mail(raw)
    assert read.kind == "unreadable"
    assert any(problem in sentence for sentence in read.problems)


def test_huge_messages_are_read_in_part():
    read = read_mail(mail("Yes, let's talk.\n" + "x" * (5 * 1024 * 1024)))
    assert read.kind == "reply" and read.new_text.startswith("Yes, let's talk.")
    assert len(read.new_text) <= 4000 and any("4 MiB" in problem for problem in read.problems)


def test_deeply_nested_and_very_many_parts_are_bounded():
    nested = "".join(f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(400))
    read = read_mail(mail(nested + "--b400\nContent-Type: text/plain\n\nhello\n", content_type="multipart/mixed; boundary=b0"))
    assert read.kind == "reply" and read.problems
    many = "".join("--m\nContent-Type: text/plain\n\nx\n" for _ in range(500)) + "--m--\n"
    assert read_mail(mail(many, content_type="multipart/mixed; boundary=m")).problems


@pytest.mark.parametrize("text", [
    "a" * 300_000,
    "On Mon, 3 Mar 2025, Tom <t@x.com> wrote:\n> q\n" * 5000,  # attribution after attribution, nothing new
    "2015-03-03 Tom <t@x.com>:\n> q\n" * 5000,
    "On " + "x " * 120 + "wrote\n" * 3000,
    "From: a\nSent: b\n" * 8000,
    "> quoted\n" * 30_000,
    "<div class='gmail_quote'><blockquote>" * 10_000,
])
def test_pathological_bodies_are_read_in_bounded_time(text):
    # A guard against a pattern that backtracks without bound, not a speed target: these take about 0.06 s.
    for content_type in ("text/plain", "text/html"):
        raw = mail(text, content_type=content_type)
        assert best_seconds(partial(read_mail, raw)) < 2.0


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_read_mail_never_raises_on_arbitrary_bytes(raw):
    assert read_mail(raw).kind in KINDS


SEEDS = [sample.raw for sample in load_corpus() if len(sample.raw) < 20000]


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 12))):
        operation = rng.choice(("flip", "insert", "delete", "truncate", "repeat"))
        where = rng.randrange(len(raw)) if raw else 0
        if operation == "flip" and raw:
            raw[where] = rng.randrange(256)
        elif operation == "insert":
            raw[where:where] = rng.choice((b"\n", b"--", b"=?utf-8?q?=FF?=", b"\r\n\r\n", b"=\n", b"Content-Type: "
                                           b"multipart/mixed; boundary=x\n", b"\xff\xfe", b"<", b">", b"=3D"))
        elif operation == "delete" and raw:
            del raw[where:where + rng.randrange(1, 64)]
        elif operation == "truncate":
            del raw[where:]
        elif operation == "repeat" and raw:
            raw[where:where] = raw[where:where + rng.randrange(1, 400)]
    return bytes(raw)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_messages())
def test_read_mail_never_raises_on_mutated_real_messages(raw):
    read = read_mail(raw)
    assert read.kind in KINDS
    assert len(read.new_text) <= 4000 and all(isinstance(problem, str) for problem in read.problems)
