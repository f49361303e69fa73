"""Italian: "cancellatemi", "rimuovetemi dalla lista", "mi cancelli dalla mailing list", "cancellate il mio
indirizzo", "disiscrivermi", "non voglio più ricevere", "non scrivetemi più", "smettetela di scrivermi".
"Cancellare" alone also means cancelling a meeting, so it needs the person as its object. Refusals: "non mi
interessa", "persona sbagliata", "non sono la persona giusta"."""

from __future__ import annotations

from storage.reply_phrases.base import END, MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_LIST = (r"(?:(?:la|il|le|i|gli|vostra|vostro|vostre|vostri|sua|suo|sue|suoi|tua|tuo|questa|questo|queste|questi"
         r"|tutte?|tutti|ogni)\s+){0,2}(?:lista(?:\s+(?:di\s+)?(?:distribuzione|contatti|invio|e-?mail|mailing))?|liste"
         r"|mailing(?:\s+list)?|elenc(?:o|hi)|database|banca\s+dati|anagrafic(?:a|he)|newsletter|indirizzario|rubrica"
         r"|contatti|comunicazioni|invii|e-?mail|mail|campagn(?:a|e)|sistema|crm)\b")
_FROM = r"\s*(?:da|dalla|dal|dai|dalle|dall'|dagli|della|del|nella|nel)\s*"
_REMOVE = r"(?:cancell|rimuov|rimov|togli|tolg|elimin|depenn|esclud)"
_MY_CONTACT = (r"(?:il\s+|la\s+|i\s+|le\s+)?(?:mio|mia|miei|mie|nostro|nostra)\s+(?:indirizzo(?:\s+(?:e-?mail"
               r"|email|di\s+posta(?:\s+elettronica)?))?|e-?mail|mail|contatt[oi]|nominativo|nome|dati(?:\s+personali)?"
               r"|recapito)")
# "este correo" is also this message: a demonstrative names an address only with a list after it.
_THIS_CONTACT = (r"(?:il\s+|la\s+|i\s+|le\s+)?(?:questo|questa)\s+(?:indirizzo(?:\s+(?:e-?mail"
               r"|email|di\s+posta(?:\s+elettronica)?))?|e-?mail|mail|contatt[oi]|nominativo|nome|dati(?:\s+personali)?"
               r"|recapito)")
_WRITING = r"(?:scriv|contatt|invi|mand|disturb|spamm|import)"
_EMAILS = (r"(?:e-?mail|mail|messaggi|comunicazioni|newsletter|offerte|informazioni|pubblicita|promozioni|spam"
           r"|proposte|nulla|niente)")

PHRASES = phrases("it", [
    (VERB, r"\b(?:disiscri|discri(?!min)|desiscri|deiscri)\w*(?<!zioni)\b"),
    (OUT, r"\b(?:cancellazione|rimozione|eliminazione)\s+(?:dei|del|della|dal)\s+"
          r"(?:miei|mio|mia|mie)\s+(?:dati|indirizzo|contatto|e-?mail|nominativo)\b"),
    (VERB, r"\bcancellazione\b"),
    (OUT, rf"\b{_REMOVE}\w{{0,6}}(?:mi|ci)\b(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b(?:mi|ci)\s+(?:\w+\s+){{0,2}}?{_REMOVE}\w*(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b{_REMOVE}\w*\s+(?:{_MY_CONTACT}(?:{_FROM}{_LIST}|{END})|{_THIS_CONTACT}{_FROM}{_LIST})"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+{_THIS_CONTACT}"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+\w+(?:\s+\w+){{0,5}}?{_FROM}{_LIST}"),
    (STOP, rf"\bnon\s+(?:voglio|vogliamo|desidero|desideriamo|vorrei|vorremmo|intendo|gradisco|gradiamo)\s+"
           rf"(?:piu\s+)?(?:continuare\s+a\s+)?ricever\w*(?:(?:\s+(?:piu|nessun\w*|altr[ei]|ulteriori|vostre|vostri"
           rf"|queste|questi|le|{_EMAILS})\b)+|{END})"),
    (STOP, r"\bnon\s+(?:voglio|vogliamo|desidero|desideriamo|vorrei|vorremmo)\s+(?:piu\s+)?essere\s+(?:piu\s+)?"
           r"(?:contattat|disturbat|ricontattat)\w*"),
    (STOP, rf"\bnon\s+(?:(?:mi|ci)\s+)?(?:\w+\s+)?{_WRITING}\w*\s+(?:piu|mai\s+piu)\b"),
    (STOP, rf"\bnon\s+{_WRITING}\w*(?:mi|ci)\b(?:\s+(?:piu|mai\s+piu)\b|{END})"),
    (OUT, rf"\bsmett\w*\s+(?:di|la\s+di)\s+{_WRITING}\w*(?:mi|ci)\b"),
    (OUT, r"\b(?:vorrei|voglio|desidero|vorremmo|vogliamo|desideriamo|chiedo\s+di|chiediamo\s+di|chiesto\s+di"
          r"|prego\s+di)\s+(?:\w+\s+)?essere\s+(?:cancellat|rimoss|tolt|eliminat|disiscritt|depennat)\w*"),
    (MAYBE, rf"\bnon\s+(?:mi|ci)\s+{_WRITING}\w*|\bnon\s+{_WRITING}\w*(?:mi|ci)\b"),
    (OUT, rf"\bsmett\w*\s+(?:di|la\s+di)\s+{_WRITING}\w*\s+(?:\w+\s+)?{_EMAILS}"),
    (STOP, rf"\bbasta\s+(?:con\s+)?(?:le\s+|queste\s+|i\s+)?{_EMAILS}\b|\bniente\s+piu\s+{_EMAILS}\b"),
    (MAYBE, r"\bnon\s+(?:mi|ci)\s+interessa\b|\bnon\s+(?:sono|siamo)\s+interessat[oaie]\b"
            r"|\bnon\s+interessat[oaie]\b|\bnessun\s+interesse\b"),
    (MAYBE, r"\bno,?\s+grazie\b|\bnon\s+e\s+il\s+momento\b|\b(?:per\s+ora|al\s+momento"
            r"|per\s+il\s+momento)\s+no\b|\bnon\s+(?:ne\s+)?abbiamo\s+bisogno\b"),
    (MAYBE, r"\b(?:persona|contatto|indirizzo|referente)\s+sbagliat[oa]\b|\bnon\s+sono\s+(?:la\s+persona|il\s+referente"
            r"|io\s+il\s+referente|il\s+responsabile|la\s+responsabile|la\s+persona\s+giusta)\b|\bnon\s+lavor[ao]\s+piu\b"
            r"|\bnon\s+fa(?:ccio)?\s+piu\s+parte\b|\b(?:ho|ha)\s+lasciato\s+(?:l'azienda|la\s+societa)\b"),
    (MAYBE, SPAM + r"|\bcome\s+(?:avete|ha)\s+(?:avuto|ottenuto|trovato)\s+il"
            r"\s+mio\b|\bnon\s+mi\s+sono\s+mai\s+iscritt\w*"),
    (MAYBE, r"\bcontinu(?:o|ate|ano)\s+a\s+(?:ricev|scriv|mand|invi)\w*"),
    (MAYBE, r"\bper\s+favore,?\s+no(?=\s*(?:$|[.!;\n]))"),
    (SHORT_OUT, r"\b(?:cancellami|cancellatemi|cancellazione|disiscrivimi|disiscrivetemi"
                r"|disiscrizione|rimuovimi|rimuovetemi)\b"),
    (SHORT_MAYBE, r"\b(?:basta|stop|smettetela|smettila)\b"),
    (WHOLE_MAYBE, r"\bno\b"),
])
