"""Spanish: "darme de baja", "elimíname de vuestra lista", "no me escribas más", "dejen de enviarme correos",
"no deseo recibir más información"; clitics attached (elimínenme, quitarme) or before the verb (me pueden quitar).
Refusals: "no me interesa", "persona equivocada", "ya no trabajo en …". "Estoy de baja" (on sick leave) and
"sácame de dudas" (answer my question) are not requests to leave a list."""

from __future__ import annotations

from storage.reply_phrases.base import END, MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_LIST = (r"(?:(?:la|las|el|los|su|sus|tu|tus|vuestra|vuestras|vuestro|vuestros|esta|esa|estas|esas|este|ese"
         r"|todas?|todos?|cualquier)\s+){0,2}(?:listas?|listados?|bases?\s+de\s+datos|bbdd|base|mailing|envios|correos"
         r"|e-?mails|mails|comunicaciones|newsletters?|boletin(?:es)?|campanas?|contactos|sistema|crm|agenda"
         r"|registros?|secuencias?|difusion|lista\s+de\s+correo)\b")
_FROM = r"\s+(?:de|del|en)\s+"
_REMOVE = r"(?:elimin|borr|quit|sac|saqu|exclu|retir|suprim|desapunt)"
_MY_CONTACT = (r"(?:mi|mis|nuestro|nuestra|nuestros)\s+(?:(?:direccion|cuenta)\s+de\s+)?(?:correo(?:\s+"
               r"electronico)?|e-?mail|mail|direccion(?:\s+de\s+(?:correo|e-?mail))?|contacto|datos(?:\s+personales)?"
               r"|informacion|nombre)")
# "este correo" is also this message: a demonstrative names an address only with a list after it.
_THIS_CONTACT = (r"(?:este|esta|ese|esa)\s+(?:(?:direccion|cuenta)\s+de\s+)?(?:correo(?:\s+"
               r"electronico)?|e-?mail|mail|direccion(?:\s+de\s+(?:correo|e-?mail))?|contacto|datos(?:\s+personales)?"
               r"|informacion|nombre)")
_WRITING = r"(?:escrib|envi|mand|contact|molest|spame)"  # not "llamar": a call is not an email
_EMAILS = (r"(?:correos?|e-?mails?|mails?|mensajes?|comunicaciones|informacion|publicidad|ofertas|newsletters?"
           r"|promociones|propuestas|spam)")

PHRASES = phrases("es", [
    (OUT, r"\b(?:me|nos)\s+(?:\w+\s+){0,2}?d[aeio]\w{0,6}\s+de\s+baja\b"),  # "ya me di de baja": past, see PAST_OPT_OUT
    (OUT, r"\bd[aeio]\w{0,5}(?:me|nos)\s+de\s+baja\b"),
    (OUT, r"\b(?:solicito|pido|solicitamos|pedimos|quiero|queremos|quisiera|deseo|deseamos|tramiten|procesen"
          r"|gestionen|hagan|haced|haz|confirmen|confirmad)\s+(?:\w+\s+){0,2}?(?:la|mi|nuestra)\s+baja\b"),
    (OUT, rf"\bdar\s+de\s+baja\s+{_MY_CONTACT}"),
    (VERB, r"\bdar(?:se|te)?\s+de\s+baja\b|\bbaja\s+(?:de|del)\s+(?:la|su|vuestra|esta)\s+(?:lista|base)"),
    (VERB, r"\bdes(?:u|i?n)s?(?:b?s)?cri\w*"),
    (OUT, rf"\b{_REMOVE}\w{{0,5}}(?:me|nos)\b(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b(?:me|nos)\s+(?:\w+\s+){{0,2}}?{_REMOVE}\w*(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b{_REMOVE}\w*\s+(?:{_MY_CONTACT}(?:{_FROM}{_LIST}|{END})|{_THIS_CONTACT}{_FROM}{_LIST})"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+{_THIS_CONTACT}"),
    (OUT, r"\b(?:eliminacion|supresion|borrado|baja)\s+de\s+(?:mis|mi)\s+(?:datos|correo"
          r"|direccion|contacto|e-?mail)\b"),
    (OUT, r"\b(?:quiero|queremos|deseo|deseamos|quisiera|solicito|pido|prefiero|gustaria)\s+(?:que\s+)?(?:\w+\s+){0,3}?"
          r"(?:ser|sea|fuera)\s+(?:eliminad|borrad|retirad|excluid|quitad|suprimid|dad[oa]s?\s+de\s+baja)\w*"),
    (OUT, rf"\b{_MY_CONTACT}\s+(?:sea|fuera|ser|sean)\s+(?:eliminad|borrad|retirad|excluid|quitad|suprimid)\w*"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+(?:a\s+)?\w+(?:\s+\w+){{0,5}}?{_FROM}{_LIST}"),
    (STOP, rf"\b(?:no|nunca\s+mas)\s+(?:me|nos)\s+(?:vuelv\w+\s+a\s+)?{_WRITING}\w*"
           rf"(?:\s+(?:(?:usted|ustedes)\s+)?(?:mas|nunca|otra\s+vez|de\s+nuevo|ningun\w*|{_EMAILS}|nada)\b"
           rf"|{END})"),
    (MAYBE, rf"\bno\s+(?:me|nos)\s+{_WRITING}\w*"),
    (STOP, rf"\bno\s+(?:vuelv\w+|volvais)\s+a\s+{_WRITING}\w*(?:me|nos)\b"),
    (STOP, rf"\bno\s+(?:quiero|queremos|deseo|deseamos|quisiera|quisieramos|necesito|me\s+interesa"
           rf"|nos\s+interesa)\s+(?:seguir\s+)?recibi\w*(?:(?:\s+(?:mas|ningun\w*|sus|vuestros|tus|estos|esos"
           rf"|este\s+tipo\s+de|{_EMAILS}|nada)\b)+|{END})"),
    (STOP, r"\bno\s+(?:quiero|queremos|deseo|deseamos|quisiera)\s+(?:que\s+(?:me|nos)\s+)?(?:sigan\s+)?"
           r"(?:ser\s+)?(?:contactad[oa]s?|escrib\w+|contact\w+|molest\w+|envi\w+|mand\w+)(?:\s+(?:mas|de\s+nuevo|otra\s+vez)\b|\s+"
           + _EMAILS + "|"
           + END + ")"),
    (OUT, rf"\b(?:dej\w*|parad|paren|pare|para|parar)\s+de\s+{_WRITING}\w*"
          rf"(?:me|nos)\b"),
    (OUT, rf"\b(?:dejad|dejen|deje|parad|paren)\s+de\s+{_WRITING}\w*\s+(?:\w+\s+)?{_EMAILS}"),
    (MAYBE, rf"\b(?:dej\w*|paren|parad)\s+de\s+{_WRITING}\w*"),
    (MAYBE, r"\bsig(?:o|uen|ues|ue)\s+(?:recibiendo|enviandome|escribiendome|mandandome)\b"),
    (OUT, r"\b(?:quiero|queremos|deseo|deseamos|quisiera|prefiero|me\s+gustaria)\s+dejar\s+de\s+recibir"),
    (STOP, rf"\bno\s+mas\s+{_EMAILS}\b(?!\s+(?:necesari|hace))|\bbasta(?:\s+ya)?\s+(?:de\s+)?{_EMAILS}\b"
           r"|\bni\s+un\s+(?:correo|e-?mail|mensaje)\s+mas\b"),
    (MAYBE, r"\bno\s+(?:me|nos|le|les)\s+interesa|\bno\s+(?:estoy|estamos)\s+interesad[oa]s?"
            r"|\bsin\s+interes\b|\bno\s+(?:es\s+de\s+)?(?:mi|nuestro)\s+interes\b"),
    (MAYBE, r"\bno,?\s+(?:muchas\s+)?gracias\b|\bno\s+(?:lo\s+)?necesitamos\b"
            r"|\bno\s+nos\s+hace\s+falta\b|\b(?:ahora(?:\s+mismo)?|de\s+momento|por\s+ahora"
            r"|por\s+el\s+momento)\s+no\b|\bno\s+es\s+(?:el|buen)\s+momento\b"),
    (MAYBE,
     r"\b(?:persona|contacto|direccion|correo)\s+(?:equivocad[oa]|incorrect[oa]|erronea)\b|\bno\s+soy\s+(?:la\s+persona"
     r"|el\s+contacto|quien|el\s+responsable|la\s+responsable|el\s+indicado|la\s+indicada)\b|\bya\s+no\s+(?:trabaj[oa]"
     r"|esta|estoy|forma|formo\s+parte)\b|\bno\s+trabaj[oa]\s+(?:en|para|con|ya|mas)\b|\bdejo\s+la\s+empresa\b|\bno\s+es\s+(?:de\s+)?mi\s+(?:area|departamento"
     r"|competencia)\b|\bdeje\s+la\s+empresa\b"),
    (MAYBE,
     SPAM + r"|\bcomo\s+(?:consiguio|consiguieron|obtuvo|obtuvieron|tienen|tiene|sacaron|saco|consiguen)\s+(?:mi|mis)"
     r"\b|\bnunca\s+me\s+(?:suscribi|registre|di\s+de\s+alta|apunte)\b|\bno\s+me\s+(?:he\s+)?(?:suscrito|suscribi"
     r"|registre|apunte)\b|\b(?:la|mi|dar|darse|darme)\s+(?:de\s+)?baja\b|\b(?:cancelar|anular)\s+(?:mi|la)\s+suscripcion\b"),
    (MAYBE, r"\bpor\s+favor,?\s+no(?=\s*(?:$|[.!;\n]))"),
    (SHORT_OUT, r"\b(?:baja|desuscribir(?:me)?|desuscripcion|eliminar|darme\s+de\s+baja)\b"),
    (SHORT_MAYBE, r"\b(?:basta|para|paren|parad|stop)\b"),
    (WHOLE_MAYBE, r"\bno\b"),
])
