"""French: "désabonnez-moi", "retirez-moi de votre liste", "merci de ne plus me contacter", "je ne souhaite plus
recevoir vos e-mails", "ne m'écrivez plus", "arrêtez de m'envoyer des mails". French negation wraps the verb
("ne me désabonnez pas"), so "ne" before a request is a negation unless the phrase is itself one ("ne plus
recevoir"). Refusals: "pas intéressé", "ça ne m'intéresse pas", "je ne suis pas la bonne personne"."""

from __future__ import annotations

from storage.reply_phrases.base import END, MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_LIST = (r"(?:(?:la|le|les|l'|votre|vos|ta|tes|cette|ce|ces|toutes?|tous)\s*){0,2}(?:listes?(?:\s+de"
         r"\s+(?:diffusion|contacts?|envoi|prospection|mailing))?|fichiers?(?:\s+\w+)?|bases?(?:\s+de\s+donnees)?"
         r"|mailing(?:s|\s+list)?|newsletters?|diffusion|contacts?|envois|e-?mails?|mails|courriels?|campagnes?"
         r"|annuaire|crm|systeme|communications?|sequences?|prospection)\b")
_FROM = r"\s*(?:de|d'|du|des)\s*"
_REMOVE = r"(?:retir|supprim|enlev|ray|effac|exclu|radi)"
_MY_CONTACT = (r"(?:mon|ma|mes|notre|nos)\s+(?:adresse(?:\s+(?:e-?mail|mail|electronique|courriel))?|e-?mail"
               r"|mail|courriel|coordonnees|donnees(?:\s+personnelles)?|contact|nom|informations)")
# "este correo" is also this message: a demonstrative names an address only with a list after it.
_THIS_CONTACT = (r"(?:cette|ce)\s+(?:adresse(?:\s+(?:e-?mail|mail|electronique|courriel))?|e-?mail"
               r"|mail|courriel|coordonnees|donnees(?:\s+personnelles)?|contact|nom|informations)")
_WRITING = r"(?:ecri|contact|envo|sollicit|relanc|spamm|derang|harcel|import|ennuy)"
_EMAILS = (r"(?:e-?mails?|mails|messages|courriels?|communications?|sollicitations?|offres|newsletters?|relances"
           r"|informations|propositions|envois|spams?|publicites?)")

PHRASES = phrases("fr", [
    (VERB, r"\b(?:desabonn|desinscri|desinscriv|desabon)\w*(?<!ments)(?<!tions)\b"),
    (OUT, rf"\b{_REMOVE}\w*[\s-]+moi\b(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b(?:me\s+|m'|nous\s+)(?:\w+\s+){{0,2}}?{_REMOVE}\w*{_FROM}{_LIST}"),
    (OUT, rf"\b(?:de|d'|pouvez[\s-]vous|pourriez[\s-]vous|veuillez|vous\s+pouvez|vous\s+pourriez|voulez[\s-]vous)\s+"
          rf"(?:bien\s+)?(?:me\s+|m'|nous\s+)(?:retirer|supprimer|enlever|rayer|effacer|radier|desinscrire|desabonner){END}"),
    (OUT, r"\b(?:demande|requete)\s+de\s+(?:desabonnement|desinscription|suppression)\b"),
    (OUT, rf"\b{_REMOVE}\w*\s+(?:{_MY_CONTACT}(?:{_FROM}{_LIST}|{END})|{_THIS_CONTACT}{_FROM}{_LIST})"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+{_THIS_CONTACT}"),
    (OUT, r"\b(?:souhaite|souhaitons|voudrais|voudrions|veux|voulons|desire|demande|aimerais|souhaiterais)\s+"
          r"(?:a\s+)?etre\s+(?:retire|supprime|desinscrit|desabonne|radie|enleve|raye|efface)\w*"),
    (OUT, rf"\b{_MY_CONTACT}\s+(?:soit|soient)\s+(?:bien\s+)?(?:retire|supprime|efface|raye)\w*"),
    (MAYBE, rf"\bne\s+(?:me\s+|m'|nous\s+)(?:\w+\s+)?{_WRITING}\w*\s+(?:pas|jamais)\b"),
    (MAYBE, rf"\b{_REMOVE}\w*[\s-]+moi\b"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+(?!pas\b|plus\b|jamais\b)\w+(?:\s+\w+){{0,5}}?{_FROM}{_LIST}"),
    (OUT, r"\b(?:suppression|retrait|radiation)\s+de\s+(?:mes|mon|ma)\s+(?:donnees"
          r"|adresse|coordonnees|e-?mail|contact)\b"),
    (STOP, rf"\bne\s+plus\s+(?:(?:me|m'|nous)\s*)?(?:recevoir|etre\s+(?:re)?contacte|etre\s+sollicite"
           rf"|{_WRITING}\w*|faire\s+partie|figurer)"),
    (STOP, rf"\bne\s+(?:me\s+|m'|nous\s+)(?:\w+\s+)?{_WRITING}\w*\s+plus\b"),
    (STOP, rf"\b(?:ne\s+|n')(?:souhaite|souhaitons|souhaiterais|souhaiterions|veux|voulons|voudrais|desire"
           rf"|desirons|tiens)\s+(?:pas|plus)\s+(?:a\s+)?(?:recevoir|etre\s+(?:re)?contacte|etre\s+sollicite"
           rf"|faire\s+partie|figurer)(?:\s+(?:de|d'|vos|ces|les|des|aucun\w*|plus|davantage)\s*(?:\w+\s+){{0,2}}?"
           rf"{_EMAILS}|\s+(?:dans|sur|de)\s*{_LIST}|{END}|e?s?{END})"),
    (OUT, rf"\b(?:arret|cess)(?:ez|e|er)\s+(?:de\s+|d')\s*(?:m'|me\s+|nous\s+){_WRITING}\w*"),
    (OUT, rf"\b(?:arret|cess)(?:ez|e|er)\s+(?:vos|les|ces|ce|votre|tous?\s+(?:ces|vos|les))\s+"
          rf"{_EMAILS}"),
    (OUT, rf"\bstop\s+(?:aux|a\s+vos|a\s+ces|a\s+ce|a\s+la)\s+{_EMAILS}"),
    (MAYBE, r"\bpas\s+interess\w*|\bne\s+(?:m'|nous\s+)interesse\s+pas\b|\baucun\s+interet\b"
            r"|\bpas\s+d'interet\b"),
    (MAYBE, r"\bnon,?\s+merci\b|\bpas\s+pour\s+(?:nous|moi)\b|\bpas\s+besoin\b|\bpas\s+(?:pour\s+)?le\s+moment\b"
            r"|\bpas\s+maintenant\b|\bn'avons\s+pas\s+besoin\b"),
    (MAYBE,
     r"\bmauvais(?:e)?\s+(?:personne|contact|interlocuteur|destinataire|adresse)\b|\bpas\s+(?:la\s+bonne\s+personne"
     r"|le\s+bon\s+(?:contact|interlocuteur))\b|\bje\s+ne\s+suis\s+pas\s+(?:le|la)\s+(?:bonne?|responsable|personne"
     r"|interlocut\w*)\b|\bne\s+travaille\s+plus\b|\b(?:ne|n')\s*(?:suis|est|fais|fait)\s+plus\s+(?:chez|dans|avec|au\s+sein)\b|\bne\s+fai[ts]\s+plus\s+partie\b|\b(?:ai|a)\s+quitte\s+(?:la|l')"),
    (MAYBE, SPAM + r"|\bjamais\s+inscrit\w*\b|\bcomment\s+avez[\s-]vous\s+(?:eu|obtenu"
            r"|trouve)\s+mon(?:\s+adresse)?\b"),
    (MAYBE, r"\bstop\s+(?:aux|a\s+vos|a\s+ces)\b"),
    (MAYBE, r"\b(?:continue[zr]?|toujours)\s+(?:a\s+)?(?:recevoir|m'envoyer|m'ecrire|me\s+contacter)\b"),
    (SHORT_OUT, r"\b(?:desabonner|desabonnement|desinscription|desinscrire)\b"
                r"|\bplus\s+(?:de|d')\s*(?:e-?mails?|mails|messages|courriels|sollicitations"
                r"|relances)\b"),
    (SHORT_MAYBE, r"\b(?:stop|arretez|arrete)\b"),
    (WHOLE_MAYBE, r"\bnon\b"),
])
