"""The small words around a request that change what it means, in English, Spanish, French, German, Portuguese
and Italian, folded (lower case, no accents) like the text they are compared with. ``storage.reply_intent``
reads them; the phrases themselves are in ``storage.reply_phrases``."""

from __future__ import annotations

import re

__all__ = [
    "CONDITIONAL", "CONTACT_NOUNS", "DEFERRAL", "DETERMINERS", "FILLERS", "FIRST_PERSON", "FOOTER", "GERMAN_SELF",
    "LINK_NOUNS", "LINK_TROUBLE", "MAIL_NOUNS", "NEGATIONS", "NEUTRAL_AFTER", "NOT_MAIL", "PAST_OPT_OUT", "POLITE",
    "POLITE_CONDITION", "POLITE_FRAME", "POSSESSIVES", "PREPOSITIONS", "REDIRECT_OR_UNDO", "REENGAGE", "REPLY_PREFIX",
    "REQUEST_WORDS", "SHORT_EXTRAS", "STOPWORDS",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _words("""
    not never don't dont doesn't doesnt didn't didnt won't wont wouldn't wouldnt can't cant cannot couldn't
    shouldn't mustn't isn't aren't wasn't weren't haven't hasn't hadn't neither nor without no
    nunca jamas ni tampoco sin
    ne n' pas jamais sans aucun aucune
    nicht kein keine keinen keinesfalls nie niemals ohne
    nao nem sem
    non mai senza nessun nessuno
""")

# Words that may stand between a negation and the request it negates: auxiliaries, pronouns, verbs of wanting
# and asking. Anything else ("not interested, remove me") ends the negation's reach.
FILLERS = _words("""
    i we you to be being been get getting got have had has want wanted wants wanna wish wished need needed needs
    mean meant intend intended plan planned ask asked asking think like liked would i'd we'd will shall should
    could can must might may do does did am is are was were me us myself really actually necessarily yet ever just
    trying try tried going gonna anyone anybody your any that it so too also even request requested told tell said
    say accidentally automatically sure certain convinced mind
    quiero quieres quiere queremos quieren quisiera quisieramos deseo desea deseamos desean necesito necesitamos
    pretendo pretendemos que me nos te se le les lo la ha han he hemos has hayan haya hayas vayan van voy vas va a
    puedo puede pueden podeis podemos debe deben debo debes es era fue necesario hace falta estoy seguro segura
    intentado pedido solicitado pedi solicite quise iba tengo tienen tiene intencion ninguna ningun yo usted ustedes
    je j' nous vous veux voulons voulez voudrais voudrions souhaite souhaitons souhaitez souhaiterais desire desirons
    plus m' t' s' de d' ai as avons avez ont etre suis sommes besoin faut il demande pu peux pouvez puis dois devez
    doit qu' surtout l' les y en du tiens compte vais allez
    ich wir sie du ihr mich uns mir mochte moechte mochten moechten will wollen wollte wurde wuerde wurden wuerden
    habe haben hatte hatten bin sind doch jetzt noch gar wirklich unbedingt von vom aus dem der den die das ihrem
    ihrer ihren diesem dieser newsletter verteiler liste zu lassen kann konnen muss mussen soll sollen darf gerne
    gern es einfach mehr
    eu voce voces quero quer querem gostaria gostariamos desejo desejamos preciso precisamos precisa vai vao vou
    pode podem posso devem devo foi fui pedi solicitei ser o da do mais ainda tem intencao nenhuma
    io noi voglio vogliamo vuole vorrei vorremmo desidero desideriamo mi ci ti si vi di che piu essere sono ho
    abbiamo chiesto richiesto potete puoi puo dovete intendo intenzione affatto ancora per dalla dal vostra vostro
""")

FIRST_PERSON = _words("""
    me us myself ourselves i we i'm i'd i've i'll we're we'd we've we'll
    moi nous je j' m' mich uns mir ich wir yo nos nosotros eu io noi ci
    quiero quisiera deseo queremos solicito pido prefiero veux voudrais souhaite souhaiterais souhaitons
    mochte moechte quero gostaria desejo voglio vorrei desidero chiedo richiedo
""")
POSSESSIVES = _words("my our mon ma mes notre mein meine meinen meu minha mio mia mi mis")
CONTACT_NOUNS = _words("""
    email e mail address addresses contact contacts details data info information name account work personal
    business old correo direccion contacto datos cuenta adresse courriel coordonnees donnees daten kontaktdaten
    endereco contato dados cadastro indirizzo contatto dati nominativo recapito
""")
# What may follow an unsubscribe verb without naming someone else: "unsubscribe from …", "unsubscribe, thanks".
NEUTRAL_AFTER = _words("""
    from of off to de del des du d' von vom aus bei da dal dalla dai dalle dall' dagli do das dos na no en di per
    desses dessas deste desta destes destas desse dessa
    please pls plz now asap immediately thanks thank thx too also as por favor merci svp s' bitte danke grazie
    obrigado obrigada gracias permanently completely right today and y et und e ou or ya subito ja agora ahora
    maintenant jetzt sofort immediatement immediatamente inmediatamente imediatamente hiermit already again for
    ok okay this with effective urgently all everything pure umgehend vielen dank muchas favore hereby
""")
PREPOSITIONS = _words("""
    from of de del des du d' von vom aus da dal dalla dai dalle dall' dagli do das dos della desses dessas deste desta
    destes destas desse dessa
""")
# Words after "from"/"of" that keep an unsubscribe verb about mail: "opt out of your emails", not "of the contract".
DETERMINERS = _words("""
    the your this these those all any my our future further of every such
    la las los el su sus vuestra vuestras vuestro tu tus esta estas este todos todas mis
    le les vos votre ce ces cette tous toutes mes nos
    der die das dem den ihrem ihrer ihren ihre ihr diesem dieser diesen diese dieses allen jeglichen weiteren
    a o as os sua seu suas seus essa esse esta este todas todos
    il i gli lo vostra vostro vostre vostri questa questo queste questi tutte tutti
""")
MAIL_NOUNS = _words("""
    list lists mailing mailings emails email e mail mails newsletter newsletters communications messages database
    campaign campaigns sequence sequences distribution marketing updates outreach it them everything contacts
    lista listas listado correos correo envios comunicaciones boletin base mensajes campana
    liste listes courriels courriel envois diffusion fichier
    verteiler newsletter datenbank nachrichten
    cadastro comunicacoes mensagens envios
    elenco comunicazioni messaggi invii mailing
""")
# Things one opts out of that are not mail: "opt out of the annual contract", "darme de baja del plan".
NOT_MAIL = _words("""
    plan plans contract contracts trial demo meeting meetings call webinar event invite invitation calendar cc project
    account pricing tier seat seats renewal users user employees licenses licences vendor provider supplier
    invoice invoices bills reports documents decision process quote proposal
    usuarios usuario empleados licencias proveedor
    contrato prueba reunion llamada evento proyecto cuenta
    contrat essai reunion appel evenement projet compte offre utilisateurs licences fournisseur
    vertrag test termin anruf projekt konto tarif nutzer benutzer mitarbeiter lizenzen anbieter
    contrato teste reuniao ligacao projeto conta usuarios licencas fornecedor
    contratto prova riunione chiamata evento progetto account utenti licenze fornitore
""")
POLITE = _words("""
    please pls plz kindly just hi hello hey dear ok okay yes again now thanks thank thx sir madam all team asap
    immediately right away hereby
    por favor porfa porfavor hola buenas buenos dias tardes noches si gracias muchas saludos ya ahora
    inmediatamente senor senora estimado estimada equipo
    merci svp s' il plait bonjour bonsoir salut oui madame monsieur cordialement immediatement maintenant
    bitte danke hallo guten tag morgen ja vielen dank sofort umgehend hiermit lieber liebe sehr geehrte geehrter
    obrigado obrigada ola oi bom dia boa tarde sim agora imediatamente att atenciosamente prezado prezada
    per favore grazie ciao salve buongiorno buonasera cortesemente gentilmente subito ora saluti cordiali gentile
""")
SHORT_EXTRAS = _words("it this that these already emails mails now me us")
REQUEST_WORDS = _words("""
    please pls plz kindly favor porfa porfavor svp veuillez plait bitte favore cortesemente gentilmente gentileza
    puede pueden podria podrian podeis podriais puedes podrias pouvez pourriez pourrais konnen konnten koennen
    koennten wurden wuerden kannst konntest pode podem poderia poderiam podes potete potreste potrebbe puoi
    potresti request requesting
""")
LINK_NOUNS = _words("""
    link links button option page url feature function functionality mechanism process rate rates request requests
    handling management header footer compliance policy form tool flow here below via using instructions
    enlace boton lien bouton knopf botao pulsante collegamento
""")
# A footer's instructions ("click here to unsubscribe") say how, not that the person wants it.
FOOTER = re.compile(r"\b(?:click|clicking|klicken|cliquez|cliquer|haga\s+clic|pulse|clique|clicca|cliccare|tap)\b")
LINK_TROUBLE = re.compile(
    r"\b(?:doesn't|does\s+not|didn't|did\s+not|not\s+work|isn't|broken|can't\s+find|cannot\s+find|couldn't\s+find"
    r"|where|ignored|still|keep|no\s+funciona|roto|sigo|ne\s+(?:fonctionne|marche)|toujours|funktioniert\s+nicht"
    r"|immer\s+noch|nao\s+funciona|ainda|non\s+funziona|ancora)\b"
)

_CONDITION_WORDS = (r"if|unless|otherwise|before|whether|or|in\s+case|si|salvo|a\s+menos|antes\s+de|sinon|sauf\s+si"
                    r"|avant\s+de|ou|wenn|falls|sofern|bevor|sonst|ansonsten|oder|se|caso|senao|altrimenti|prima\s+di"
                    r"|oppure")
CONDITIONAL = re.compile(rf"\b(?:{_CONDITION_WORDS})\b(?!\s*[,.!:;?])")
# "If you could, …", "si es posible", "wenn möglich": politeness, not a condition.
POLITE_CONDITION = re.compile(
    r"(?:if|si|se|wenn|falls)\s+(?:(?:you|u|vous|sie|usted|ustedes|voce|voces|lei|voi|es|it|that's|that\s+is|for)\s+)?"
    r"(?:could|can|would|will|please|don't\s+mind|do\s+not\s+mind|possible|possibly|ok|okay|alright|pouvez|pouviez"
    r"|voulez|posible|fuera\s+posible|puede|pueden|podria|podrian|puedes|podrias|no\s+es\s+molestia|moglich"
    r"|moeglich|geht|konnten|konnen|possivel|puder|puderem|possibile|potete|poteste|puoi|puo|ist)\b"
)
# "I'd appreciate it if you …", "le agradecería si …": the condition is only politeness.
POLITE_FRAME = re.compile(
    r"(?:appreciate(?:\s+it)?|grateful|great|nice|helpful|thankful|agradecer\w*|agradeceria|gentil|dankbar|nett"
    r"|grat[oa]|grata)\s*$"
)
DEFERRAL = re.compile(
    r"\b(?:until(?!\s+further)|till|for\s+now|for\s+the\s+(?:time\s+being|moment)|at\s+the\s+moment|this\s+(?:week"
    r"|month|quarter|year)|next\s+(?:week|month|quarter|year)|temporarily|for\s+a\s+(?:while|few|couple)"
    r"|hasta(?!\s+(?:luego|pronto|la\s+vista|siempre|nunca))|por\s+ahora|por\s+el\s+momento|de\s+momento"
    r"|temporalmente|jusqu|pour\s+le\s+moment|pour\s+l'instant|temporairement|bis(?!\s+(?:bald|dann|auf\s+weiteres"
    r"|spater|spaeter))|vorerst|vorlaufig|vorubergehend|momentan|derzeit|zurzeit|por\s+enquanto|no\s+momento"
    r"|por\s+agora|temporariamente|fino\s+a|per\s+ora|per\s+il\s+momento|al\s+momento|temporaneamente)\b"
)
REDIRECT_OR_UNDO = re.compile(
    r"\b(?:instead|call\s+me|phone\s+me|ring\s+me|text\s+me|reach\s+me\s+(?:at|on|via)|contact\s+me\s+(?:at|on|via)"
    r"|e-?mail\s+me\s+at|write\s+(?:to\s+)?me\s+at|my\s+(?:new|other|personal|correct|current)\s+(?:e-?mail|address)"
    r"|new\s+(?:e-?mail\s+)?address|add\s+me\s+back|put\s+me\s+back|re-?subscribe|back\s+on\s+(?:the|your)\s+list"
    r"|en\s+su\s+lugar|en\s+lugar\s+de|llamame|llamenme|escribeme\s+a|escribanme\s+a|mi\s+(?:nuevo|otro)\s+(?:correo"
    r"|e-?mail)|darme\s+de\s+alta|volver\s+a\s+suscribir"
    r"|plutot|appelez[\s-]moi|ma\s+nouvelle\s+adresse|mon\s+autre\s+adresse|ecrivez[\s-]moi\s+(?:a|sur)"
    r"|reabonn\w*|reinscri\w*"
    r"|stattdessen|rufen\s+sie\s+mich\s+an|meine\s+neue\s+(?:adresse|e-?mail)|schreiben\s+sie\s+mir\s+an"
    r"|wieder\s+(?:aufnehmen|anmelden|eintragen)"
    r"|em\s+vez\s+disso|ao\s+inves|me\s+ligue|ligue[\s-]me|meu\s+novo\s+(?:e-?mail|endereco)"
    r"|invece|chiamatemi|mi\s+chiami|il\s+mio\s+nuovo\s+(?:indirizzo|e-?mail)|scrivetemi\s+a"
    r"|reiscriv\w*)\b"
    # An opt-out done by mistake — but not a legal footer's "if you received this in error".
    r"|\b(?:unsub\w*|remov\w*|opted|took\s+me|baja|elimin\w*|desabonn\w*|retir\w*|abgemeldet|ausgetragen|entfernt"
    r"|descadastr\w*|cancellat\w*|rimoss\w*)[^.!?\n]{0,40}\b(?:by\s+mistake|by\s+accident|in\s+error|por\s+error"
    r"|por\s+equivocacion|par\s+erreur|versehentlich|aus\s+versehen|por\s+engano|por\s+erro|per\s+errore)\b"
    r"|\b(?:accidentally|versehentlich)\s+(?:\w+\s+)?(?:unsub|remov|opted|abgemeldet|ausgetragen)"
)
# "I unsubscribed from their newsletter", "ya me di de baja", "ich habe mich abgemeldet": a statement about the
# past, at most a complaint — a teammate decides.
PAST_OPT_OUT = re.compile(
    r"(?<!\bbe\s)(?<!\bbeen\s)(?<!\bbeing\s)(?<!\bget\s)(?<!\bme\s)(?<!\bus\s)(?:\bun[\s-]?su[bs]{0,2}c?r?i?bed\b"
    r"|\bopted\s+out\b)"
    r"|\b(?:di|dio|dieron|diste|dimos|dado)\s+de\s+baja\b|\bdes(?:u|i?n)s?(?:b?s)?cri(?:bi|bio|bieron|to|ta)\b"
    r"|\b(?:suis|sommes|etes|ai|avons|avez)\s+(?:deja\s+)?(?:desabonne|desinscrit)\w*"
    r"|\b(?:habe|hat|haben|hatte|hatten|bin|ist|sind|war|waren)\s+(?:\w+\s+){0,4}?(?:abgemeldet|ausgetragen|abbestellt)\b"
    r"(?!\s+(?:zu\s+)?werden)"
    r"|\bdescadastr(?:ei|ou|aram)\b|\bfui\s+descadastrad\w*"
    r"|\b(?:sono|siamo|ho|abbiamo)\s+(?:gia\s+)?(?:disiscritt|cancellat|rimoss)\w*"
)
REPLY_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:re|aw|wg|fw|fwd|rv|tr|r|res|antw|sv|vs|ref|rif|enc|odp)\s*(?:\[\d+\])?\s*:",
    re.IGNORECASE,
)

_STOPWORDS_BY_LANGUAGE = {
    "en": "the and you to is please we not thanks for with this my of are have your our would it be in on i that will "
          "can me",
    "es": "el los las que y por favor gracias mi con para es una hola esta su del muy pero no lo nos usted ustedes "
          "quiero saludos estoy tengo mas",
    "fr": "le les et je vous merci pas ne des est pour une mon votre bonjour ce cette avec nous sur du au suis "
          "cordialement plus ai que",
    "de": "der die das und ich sie nicht bitte danke mit ist ein eine mich mir zu von den dem hallo guten ihre ihnen "
          "wir uns auf fur keine kein",
    "pt": "o os as nao obrigado obrigada para com um uma meu minha voce ola e sao seu sua da do dos das mais tenho "
          "estou atenciosamente que",
    "it": "il gli di che non grazie per con un una sono ciao del della vostra vostro mi buongiorno cordiali saluti ho "
          "piu questa questo essere",
}
STOPWORDS: dict[str, tuple[str, ...]] = {}
for _language, _list in _STOPWORDS_BY_LANGUAGE.items():
    for _word in _list.split():
        STOPWORDS[_word] = (*STOPWORDS.get(_word, ()), _language)

_TIME = (r"(?:\d+\s*)?(?:weeks?|months?|years?|quarter|q[1-4]|spring|summer|autumn|winter|january|february|march"
         r"|april|june|july|august|september|october|november|december|semanas?|mes(?:es)?|ano|trimestre|primavera"
         r"|verano|otono|invierno|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
         r"|noviembre|diciembre|semaines?|mois|un\s+an|l'an|annee|printemps|ete|automne|hiver|janvier|fevrier|mars"
         r"|avril|juin|juillet|aout|septembre|octobre|novembre|decembre|rentree|wochen?|monat(?:en)?|jahr|quartal"
         r"|fruhjahr|fruehjahr|fruhling|sommer|herbst|januar|februar|marz|maerz|juni|juli|oktober|dezember|verao"
         r"|outono|janeiro|fevereiro|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|settimane?|mesi|anno"
         r"|estate|autunno|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre)\b")
# "Ping me in two weeks", "melden Sie sich im Juni", "me procure em junho": the person wants to hear from us later,
# so a "not now" beside it is no reason to stop.
REENGAGE = re.compile(
    r"\b(?:contact|reach\s+out\s+to|ping|e-?mail|write\s+to|get\s+back\s+to|follow\s+up\s+with|check\s+in\s+with"
    r"|circle\s+back\s+with|try)\s+(?:me|us)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:circle\s+back|reach\s+out|touch\s+base|follow\s+up|try\s+again|check\s+back)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:escrib|contact|busc|vuelv|escrib)\w*(?:me|nos)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:me|nos)\s+(?:escrib|contact|busc)\w*[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:recontact|relanc|reven|rappel|reecri|ecriv|contact)\w*[\s-]+(?:vers\s+)?(?:moi|nous)\b[^.!?\n]{0,40}?\b"
    + _TIME
    + r"|\b(?:melden|schreiben|kontaktieren)\s+sie\s+(?:sich|mir|mich|uns)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:me|nos)\s+(?:procur|contat|contact|escrev)\w*[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:procur|contat|escrev)\w*-(?:me|nos)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:ricontatt|risent|riscriv|contatt|scriv)\w*(?:mi|ci)\b[^.!?\n]{0,40}?\b" + _TIME
    + r"|\b(?:mi|ci)\s+(?:ricontatt|riscriv|scriv|contatt|risent)\w*[^.!?\n]{0,40}?\b" + _TIME
    + r"|\bsentiamoci\b[^.!?\n]{0,40}?\b" + _TIME
)
GERMAN_SELF = frozenset(("mich", "uns", "meine", "meinen", "meiner", "mir"))
