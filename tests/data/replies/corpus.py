"""The labelled corpus of inbound mail, turned into real MIME messages.

Two sources, both meant to be read in review:

- ``<language>.txt`` (en, es, fr, de, pt, it): one block per message. A block opens with
  ``=== <id> | <label> | <options>``, then the message's own header lines (Subject, From, and any automatic-reply
  headers), a blank line, and the body the person wrote. Labels: ``opt_out``, ``ambiguous``, ``none`` (replies,
  by the intent a person would read), ``auto_reply``. Options:
  ``quote=gmail|gmail-wrapped|apple|outlook|original|bottom`` appends (or, for ``bottom``, prepends) the campaign
  email we sent — with its own opt-out footer — quoted the way that client quotes it; ``charset=…`` and
  ``cte=quoted-printable|base64|8bit`` choose the encoding; ``html`` says the body is HTML and the message is
  HTML-only (its quote then follows Gmail's or Outlook's HTML); ``alt`` sends plain text and a generated HTML
  alternative; ``rawheaders`` writes non-ASCII header text as raw UTF-8 rather than RFC 2047 encoded words.
- ``eml/<label>/<language>-<name>.eml``: complete messages whose structure is the point (bounces from Postfix,
  Exim, Gmail, Microsoft 365, qmail; nested multiparts, lying charsets), with ``eml/expected.json`` giving each
  bounce's recipient, status and original Message-ID.
"""

from __future__ import annotations

import base64
import html
import json
import quopri
import re
from dataclasses import dataclass
from email.header import Header
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "es", "fr", "de", "pt", "it")
INTENTS = ("opt_out", "ambiguous", "none")


@dataclass(frozen=True)
class Sample:
    id: str
    language: str
    kind: str  # what read_mail should say
    intent: str | None  # what classify_reply should say, for replies
    raw: bytes
    recipient: str | None = None  # bounces: the failed recipient
    status: str | None = None
    original_message_id: str | None = None


SENDER = {
    "en": ("Tom Baker", "tom@sender.test"), "es": ("Tomás Vidal", "tomas@sender.test"),
    "fr": ("Thomas Martin", "thomas@sender.test"), "de": ("Thomas Becker", "thomas@sender.test"),
    "pt": ("Tomás Costa", "tomas@sender.test"), "it": ("Tommaso Russo", "tommaso@sender.test"),
}
ATTRIBUTION = {
    "en": "On Mon, 3 Mar 2025 at 10:02, {name} <{address}> wrote:",
    "es": "El lun, 3 mar 2025 a las 10:02, {name} (<{address}>) escribió:",
    "fr": "Le lun. 3 mars 2025 à 10:02, {name} <{address}> a écrit :",
    "de": "Am Mo., 3. März 2025 um 10:02 Uhr schrieb {name} <{address}>:",
    "pt": "Em seg., 3 de mar. de 2025 às 10:02, {name} <{address}> escreveu:",
    "it": "Il giorno lun 3 mar 2025 alle ore 10:02 {name} <{address}> ha scritto:",
}
APPLE_ATTRIBUTION = {
    "en": "On 3 Mar 2025, at 10:02, {name} <{address}> wrote:",
    "es": "El 3 mar 2025, a las 10:02, {name} <{address}> escribió:",
    "fr": "Le 3 mars 2025 à 10:02, {name} <{address}> a écrit :",
    "de": "Am 03.03.2025 um 10:02 schrieb {name} <{address}>:",
    "pt": "Em 3 de mar. de 2025, à(s) 10:02, {name} <{address}> escreveu:",
    "it": "Il giorno 3 mar 2025, alle ore 10:02, {name} <{address}> ha scritto:",
}
OUTLOOK_FIELDS = {
    "en": ("From:", "Sent:", "To:", "Subject:", "Monday, March 3, 2025 10:02 AM"),
    "es": ("De:", "Enviado el:", "Para:", "Asunto:", "lunes, 3 de marzo de 2025 10:02"),
    "fr": ("De :", "Envoyé :", "À :", "Objet :", "lundi 3 mars 2025 10:02"),
    "de": ("Von:", "Gesendet:", "An:", "Betreff:", "Montag, 3. März 2025 10:02"),
    "pt": ("De:", "Enviado:", "Para:", "Assunto:", "segunda-feira, 3 de março de 2025 10:02"),
    "it": ("Da:", "Inviato:", "A:", "Oggetto:", "lunedì 3 marzo 2025 10:02"),
}
ORIGINAL_BANNER = {
    "en": "-----Original Message-----", "es": "-----Mensaje original-----", "fr": "-----Message d'origine-----",
    "de": "-----Ursprüngliche Nachricht-----", "pt": "-----Mensagem original-----", "it": "-----Messaggio originale-----",
}
# The campaign email every reply answers, with the opt-out line such emails carry: it is quoted under many replies
# and must never speak for the person.
CAMPAIGN = {
    "en": ("Quick question about your outbound team",
           "Hi there,\n\nI noticed your team is hiring SDRs. We help sales teams book 30% more meetings.\n"
           "Worth a 15-minute call next week?\n\nBest,\nTom\n\nP.S. Not interested? Reply \"unsubscribe\" or "
           "\"remove me\" and I will take you off my list."),
    "es": ("Una pregunta rápida sobre vuestro equipo comercial",
           "Hola,\n\nHe visto que estáis contratando SDRs. Ayudamos a equipos de ventas a conseguir un 30% más de "
           "reuniones.\n¿Hablamos 15 minutos la semana que viene?\n\nUn saludo,\nTomás\n\nSi no te interesa, "
           "responde \"baja\" o \"no me escribas más\" y te daré de baja de mi lista."),
    "fr": ("Une question rapide sur votre équipe commerciale",
           "Bonjour,\n\nJ'ai vu que vous recrutez des SDR. Nous aidons les équipes commerciales à obtenir 30 % de "
           "rendez-vous en plus.\nUn appel de 15 minutes la semaine prochaine ?\n\nCordialement,\nThomas\n\n"
           "Pour ne plus recevoir mes messages, répondez \"désabonner\" et je vous retirerai de ma liste."),
    "de": ("Kurze Frage zu Ihrem Vertriebsteam",
           "Hallo,\n\nich habe gesehen, dass Sie SDRs einstellen. Wir helfen Vertriebsteams, 30 % mehr Termine zu "
           "buchen.\nHätten Sie nächste Woche 15 Minuten Zeit?\n\nBeste Grüße\nThomas\n\nKein Interesse? Antworten "
           "Sie einfach mit \"abmelden\" und ich trage Sie aus meinem Verteiler aus."),
    "pt": ("Uma pergunta rápida sobre o seu time comercial",
           "Olá,\n\nVi que vocês estão contratando SDRs. Ajudamos times de vendas a marcar 30% mais reuniões.\n"
           "Podemos conversar 15 minutos na próxima semana?\n\nAbraço,\nTomás\n\nSe não quiser receber mais "
           "e-mails, responda \"descadastrar\" e eu removo você da minha lista."),
    "it": ("Una domanda veloce sul vostro team commerciale",
           "Buongiorno,\n\nho visto che state assumendo SDR. Aiutiamo i team di vendita a fissare il 30% di "
           "appuntamenti in più.\nPossiamo sentirci 15 minuti la prossima settimana?\n\nCordiali saluti,\n"
           "Tommaso\n\nSe non desidera ricevere altre email, risponda \"cancellami\" e la rimuoverò dalla lista."),
}


def load_corpus() -> list[Sample]:
    samples: list[Sample] = []
    for language in LANGUAGES:
        samples.extend(_text_samples(language, (HERE / f"{language}.txt").read_text(encoding="utf-8")))
    samples.extend(_eml_samples())
    return samples


def _text_samples(language: str, text: str) -> list[Sample]:
    samples = []
    blocks = re.split(r"^=== ", text, flags=re.MULTILINE)[1:]
    for block in blocks:
        opening, _, rest = block.partition("\n")
        fields = [field.strip() for field in opening.split("|")]
        sample_id, label, options = fields[0], fields[1], _options(fields[2] if len(fields) > 2 else "")
        head, _, body = rest.partition("\n\n")
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in head.splitlines() if line.strip()]
        kind = "reply" if label in INTENTS else label
        raw = _build(language, sample_id, headers, body.rstrip("\n") + "\n", options)
        samples.append(Sample(sample_id, language, kind, label if label in INTENTS else None, raw))
    return samples


def _options(text: str) -> dict[str, str]:
    options = {}
    for item in text.split():
        name, _, value = item.partition("=")
        options[name] = value or "yes"
    return options


def _build(language: str, sample_id: str, headers: list[tuple[str, ...]], body: str, options: dict[str, str]) -> bytes:
    name, address = SENDER[language]
    campaign_subject, campaign = CAMPAIGN[language]
    names = {header[0].lower() for header in headers}
    lines = [f"{key}: {_header_value(value, options)}" for key, value in headers]
    if "from" not in names:
        lines.append(f"From: Prospect {sample_id} <{sample_id}@prospect.example>")
    if "subject" not in names:
        lines.append(f"Subject: {_header_value('Re: ' + campaign_subject, options)}")
    lines += [f"To: {name} <{address}>", "Date: Tue, 4 Mar 2025 09:15:00 +0100",
              f"Message-ID: <{sample_id}@prospect.example>", f"In-Reply-To: <campaign-{language}@sender.test>",
              f"References: <campaign-{language}@sender.test>", "MIME-Version: 1.0"]
    quote = options.get("quote", "")
    charset = options.get("charset", "utf-8")
    transfer = options.get("cte", "8bit" if charset == "utf-8" else "quoted-printable")
    if "html" in options:
        document = _html_with_quote(body, quote, language, campaign)
        return _single(lines, "text/html", document, charset, transfer)
    text = _text_with_quote(body, quote, language, campaign)
    if "alt" in options:
        boundary = f"alt-{sample_id}"
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        parts = [_part("text/plain", text, charset, transfer), _part("text/html", _as_html(text), charset, transfer)]
        payload = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
        return ("\n".join(lines) + "\n\n" + payload).encode("latin-1")
    return _single(lines, "text/plain", text, charset, transfer)


def _header_value(value: str, options: dict[str, str]) -> str:
    """Non-ASCII header text as RFC 2047 encoded words, or as raw UTF-8 bytes (option ``rawheaders``)."""
    if value.isascii():
        return value
    if "rawheaders" in options:
        return value.encode("utf-8").decode("latin-1")
    name, _, address = value.rpartition(" <")
    if address.endswith(">") and name:
        return f"{Header(name, 'utf-8').encode()} <{address}"
    return Header(value, "utf-8").encode()


def _text_with_quote(body: str, quote: str, language: str, campaign: str) -> str:
    name, address = SENDER[language]
    quoted = "\n".join(f"> {line}" if line else ">" for line in campaign.splitlines())
    if quote in ("gmail", "apple", "bottom"):
        template = APPLE_ATTRIBUTION[language] if quote == "apple" else ATTRIBUTION[language]
        attribution = template.format(name=name, address=address)
        if quote == "bottom":
            return f"{attribution}\n\n{quoted}\n\n{body}"
        return f"{body}\n{attribution}\n\n{quoted}\n"
    if quote == "gmail-wrapped":  # Gmail wraps a long attribution before the address
        attribution = ATTRIBUTION[language].format(name=name, address=address).replace(" <", " <\n", 1)
        return f"{body}\n{attribution}\n\n{quoted}\n"
    if quote in ("outlook", "original"):
        sender, sent, to, subject, when = OUTLOOK_FIELDS[language]
        banner = "________________________________" if quote == "outlook" else ORIGINAL_BANNER[language]
        return (f"{body}\n{banner}\n{sender} {name} <{address}>\n{sent} {when}\n{to} prospect@example.com\n"
                f"{subject} {CAMPAIGN[language][0]}\n\n{campaign}\n")
    return body


def _html_with_quote(body: str, quote: str, language: str, campaign: str) -> str:
    name, address = SENDER[language]
    history = "<br>".join(html.escape(line) for line in campaign.splitlines())
    if quote == "outlook":
        sender, sent, to, subject, when = OUTLOOK_FIELDS[language]
        return (f"<html><body><div>{body}</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\">"
                f"<b>{sender}</b> {html.escape(name)}<br><b>{sent}</b> {when}<br><b>{subject}</b> ...</div>"
                f"<div>{history}</div></body></html>")
    if quote:
        attribution = html.escape(ATTRIBUTION[language].format(name=name, address=address))
        return (f"<div dir=\"ltr\">{body}</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">"
                f"{attribution}<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\">"
                f"{history}</blockquote></div>")
    return f"<html><head><style>p {{margin: 0}}</style></head><body>{body}</body></html>"


def _as_html(text: str) -> str:
    return "<div dir=\"ltr\">" + "<br>\n".join(html.escape(line) for line in text.splitlines()) + "</div>"


def _part(content_type: str, text: str, charset: str, transfer: str) -> str:
    encoded = text.encode(charset)
    if transfer == "base64":
        payload = base64.encodebytes(encoded).decode("ascii")
    elif transfer == "quoted-printable":
        payload = quopri.encodestring(encoded).decode("ascii")
    else:
        payload = encoded.decode("latin-1")
    return (f"Content-Type: {content_type}; charset=\"{charset}\"\nContent-Transfer-Encoding: {transfer}\n\n"
            f"{payload}")


def _single(lines: list[str], content_type: str, text: str, charset: str, transfer: str) -> bytes:
    message = "\n".join(lines) + "\n" + _part(content_type, text, charset, transfer)
    return message.encode("latin-1")


def _eml_samples() -> list[Sample]:
    expected = json.loads((HERE / "eml" / "expected.json").read_text(encoding="utf-8"))
    samples = []
    for path in sorted((HERE / "eml").glob("*/*.eml")):
        label = path.parent.name
        relative = f"{label}/{path.name}"
        facts = expected.get(relative, {})
        kind = "reply" if label in INTENTS else label
        samples.append(Sample(path.stem, path.stem.split("-")[0], kind, label if label in INTENTS else None,
                              path.read_bytes(), facts.get("recipient"), facts.get("status"),
                              facts.get("original_message_id")))
    return samples
