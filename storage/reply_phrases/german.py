"""German: "bitte austragen", "melden Sie mich ab", "tragen Sie mich aus Ihrem Verteiler aus", "nehmen Sie mich aus
dem Verteiler", "löschen Sie meine Daten", "keine weiteren E-Mails", "kontaktieren Sie mich nicht mehr". Separable
verbs put their particle last, and a "nicht" between ("melden Sie mich nicht ab") negates them; "ich melde mich ab
Montag" (I'll be in touch from Monday) is not one. Refusals: "kein Interesse", "falscher Ansprechpartner"."""

from __future__ import annotations

from storage.reply_phrases.base import MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_LIST = (r"(?:(?:ihrem|ihrer|ihren|dem|der|den|diesem|dieser|allen|ihre|eurem|eurer|deinem|deiner|jedem)\s+)?"
         r"[\w-]*(?:verteiler(?:liste)?|liste|newsletter|datenbank|kartei|system|crm|kontakten|mailing|e-?mail-?liste"
         r"|adressbestand|adressdatei|kampagne)\b")
_FROM = r"\s+(?:aus|von|vom|in)\s+"
_ME = (r"(?:mich|uns|meine\s+(?:[\w-]+\s+)?(?:adresse|e-?mail(?:-?adresse)?|mail(?:-?adresse)?|daten|kontaktdaten"
       r"|kontakt))")
# A separable verb's particle at the end of its clause, not "ab Montag", "aus Berlin".
_PARTICLE_END = r"(?=\s*(?:$|[.!?,;:\n]|-)|\s+(?:bitte|danke|vielen|und|sofort|umgehend)\b)"
_EMAILS = (r"(?:[\w-]*e-?mails?|mails|nachrichten|werbung|werbemails|zusendungen|newsletter|anfragen|kontaktaufnahmen?"
           r"|angebote|spam|post|kontakte)")
_WRITE = (r"(?:kontaktieren|anschreiben|schreiben|anmailen|mailen|zuschreiben|belastigen|belaestigen|kontaktiert"
          r"|angeschrieben|zusenden|zuschicken|senden|schicken|storen)")

PHRASES = phrases("de", [
    (OUT, rf"\b(?:melden|meldet|melde)\s+(?:sie\s+|ihr\s+|du\s+|ich\s+|wir\s+)?(?:mich|uns)\s+(?:[\w-]+\s+){{0,5}}?ab"
          rf"{_PARTICLE_END}"),
    (OUT, rf"\b(?:tragen|tragt|trag)\s+(?:sie\s+|ihr\s+|du\s+)?{_ME}\s+(?:[\w-]+\s+){{0,5}}?aus{_PARTICLE_END}"),
    (OUT, rf"\b(?:nehmen|nehmt|nimm|streichen|streicht|entfernen|entfernt|loschen|loescht|loeschen|loscht)\s+"
          rf"(?:sie\s+|ihr\s+|du\s+)?(?:bitte\s+|doch\s+)?{_ME}\s+(?:[\w-]+\s+){{0,3}}?(?:aus|von|vom)\s+{_LIST}"),
    (OUT, rf"\b(?:entfernen|loschen|loeschen|streichen)\s+(?:sie\s+)?(?:bitte\s+)?{_ME}{_PARTICLE_END}"),
    (MAYBE, r"\bimmer\s+noch\s+(?:\w+\s+)?(?:e-?mails|mails|post|nachrichten|werbung)\b"),
    (OUT, rf"\b{_ME}\s+(?:[\w-]+\s+){{0,2}}?(?:aus|von|vom)\s+{_LIST}\s+(?:[\w-]+\s+)?(?:entfernen|loschen|loeschen"
          rf"|streichen|nehmen|herausnehmen|rausnehmen|entfernt|geloscht|geloescht|gestrichen|genommen)\b"),
    (OUT, rf"\b(?:ich|wir)\s+(?:\w+\s+){{0,4}}?(?:aus|von|vom)\s+{_LIST}\s+(?:[\w-]+\s+)?(?:entfernt|geloscht|geloescht"
          rf"|gestrichen|ausgetragen|abgemeldet|genommen)\s+(?:zu\s+)?werden\b"),
    (OUT, r"\b(?:loschung|loeschung|entfernung|streichung|austragung)\s+(?:meiner|meines"
          r"|unserer)\s+(?:[\w-]+\s+)?(?:daten|adresse|e-?mail(?:-?adresse)?|kontaktdaten)\b"),
    (VERB, r"\b(?:abmelden|abmeldung|abzumelden|austragen|austragung|auszutragen|abbestellen|abbestellung|abzubestellen"
           r"|abgemeldet|ausgetragen|abbestellt)\b"),
    (STOP, rf"\bkeine\s+(?:weiteren?\s+)?(?:[\w-]+\s+)?{_EMAILS}\s+mehr\b"),
    (STOP, rf"\bkeine\s+weiteren?\s+(?:[\w-]+\s+)?{_EMAILS}\b"),
    (STOP, rf"\bbitte\s+keine\s+(?:[\w-]+\s+)?{_EMAILS}\b"),
    (STOP, rf"\b(?:mochte|moechte|will|wollen|mochten|moechten|wunsche|wuensche)\s+(?:\w+\s+){{0,2}}?keine\s+"
           rf"(?:[\w-]+\s+)?{_EMAILS}\b"),
    (STOP, rf"\bnicht\s+mehr\s+(?:\w+\s+){{0,2}}?{_WRITE}\b"),
    (STOP, rf"\b{_WRITE}\s+(?:sie|ihr|du)\s+(?:mich|mir|uns)\s+(?:\w+\s+){{0,2}}?(?:nicht\s+mehr|nie\s+wieder)\b"),
    (OUT, r"\bh(?:o|oe)r(?:en|t)\s+(?:sie\s+|ihr\s+)?(?:bitte\s+)?(?:endlich\s+)?auf\s*,?\s*(?:mich|mir|uns)"
          r"\s+(?:\w+\s+){0,3}?(?:zu\s+\w+|anzu\w+)"),
    (OUT, r"\blassen\s+sie\s+(?:mich|uns)\s+(?:bitte\s+)?(?:endlich\s+)?in\s+ruhe\b"),
    (MAYBE, r"\bkein(?:erlei)?\s+interesse\b|\bnicht\s+interessiert\b|\bkein(?:en)?\s+bedarf\b"),
    (MAYBE,
     r"\bfalsche[rn]?\s+(?:person|ansprechpartner(?:in)?|kontakt|adresse|empfanger|adressat)\b|\bnicht\s+(?:der|die)"
     r"\s+richtige\b|\bnicht\s+zust(?:a|ae)ndig\b|\barbeitet?\s+nicht\s+mehr\b|\bnicht\s+mehr\s+(?:bei|im|fur|in\s+der)"
     r"\b|\b(?:unternehmen|firma)\s+verlassen\b"),
    (MAYBE, r"\bnein,?\s+danke\b|\bbitte\s+nicht(?=\s*(?:$|[.!;\n]))"
            r"|\b(?:derzeit|momentan|aktuell|zurzeit)\s+nicht\b"
            r"|\bwoher\s+haben\s+sie\s+meine\b|\bnie\s+angemeldet\b"),
    (MAYBE, SPAM),
    (SHORT_OUT, r"\b(?:abmelden|abmeldung|austragen|abbestellen)\b"),
    (SHORT_MAYBE, r"\b(?:stop|stopp|aufhoren|aufhoeren)\b"),
    (WHOLE_MAYBE, r"\bnein\b"),
])
