"""Portuguese (Brazil and Portugal): "descadastrar", "me remova da lista", "remova-me", "tire meu e-mail da sua
base", "não quero receber mais e-mails", "não me envie mais", "parem de me enviar". "Me tire uma dúvida" (answer
me a question) is not a request to leave a list. Refusals: "não tenho interesse", "pessoa errada"."""

from __future__ import annotations

from storage.reply_phrases.base import END, MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_LIST = (r"(?:(?:a|o|as|os|sua|seu|suas|seus|vossa|vosso|esta|este|essa|esse|todas?|todos?)\s+){0,2}(?:listas?(?:\s+de"
         r"\s+(?:e-?mails?|contatos|contactos|distribuicao|envio|transmissao))?|mailing|base(?:\s+de\s+dados)?|banco\s+de"
         r"\s+dados|cadastros?|newsletters?|e-?mails?|envios|contatos|contactos|sistema|crm|campanhas?|comunicacoes"
         r"|mensagens|divulgacao)\b")
_FROM = r"\s+(?:de|da|do|das|dos|desta|dessa|deste|desse|nesta|nessa|na|no)\s+"
_REMOVE = r"(?:remov|tir|retir|exclu|apag|delet|elimin)"
_MY_CONTACT = (r"(?:o\s+|a\s+|os\s+)?(?:meu|minha|meus|minhas|nosso|nossa)\s+(?:e-?mail|endereco(?:\s+de\s+"
               r"e-?mail)?|contatos?|contactos?|cadastro|nome|dados|informacoes)")
# "este correo" is also this message: a demonstrative names an address only with a list after it.
_THIS_CONTACT = (r"(?:o\s+|a\s+|os\s+)?(?:este|esse|esta|essa)\s+(?:e-?mail|endereco(?:\s+de\s+"
               r"e-?mail)?|contatos?|contactos?|cadastro|nome|dados|informacoes)")
_SENDING = r"(?:envi|mand|escrev|contat|contact|procur|incomod|perturb)"
_EMAILS = (r"(?:e-?mails?|mensagens|comunicacoes|informacoes|propagandas?|ofertas|newsletters?|promocoes|spam"
           r"|publicidade|nada)")
_DONE = r"(?:removid|retirad|excluid|apagad|deletad|descadastrad|eliminad)\w*"

PHRASES = phrases("pt", [
    (VERB, r"\b(?:descadastr|desinscrev|desinscri)\w*"),
    (OUT, rf"\b{_REMOVE}\w*-(?:me|nos)\b(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b(?:me|nos)\s+(?:\w+\s+){{0,2}}?{_REMOVE}\w*(?:{_FROM}{_LIST}|{END})"),
    (OUT, rf"\b{_REMOVE}\w*\s+(?:{_MY_CONTACT}(?:{_FROM}{_LIST}|{END})|{_THIS_CONTACT}{_FROM}{_LIST})"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+{_THIS_CONTACT}"),
    (MAYBE, rf"\b{_REMOVE}\w*\s+\w+(?:\s+\w+){{0,5}}?{_FROM}{_LIST}"),
    (OUT,
     rf"\b(?:gostaria|gostariamos|quero|queremos|desejo|desejamos|preciso|solicito|peco|pedi|pedimos)\s+(?:de\s+|para\s+)?"
     rf"(?:\w+\s+){{0,2}}?ser\s+{_DONE}"),
    (OUT, rf"\b{_MY_CONTACT}\s+(?:seja|fosse|ser|sejam)\s+{_DONE}"),
    (OUT, r"\b(?:exclusao|remocao|eliminacao|retirada)\s+d[oae]s?\s+(?:meus|meu|minha"
          r"|minhas)\s+(?:dados|e-?mail|contato|endereco|cadastro)\b"),
    (OUT, r"\bcancel\w*\s+(?:a\s+|minha\s+)?(?:inscricao|assinatura|cadastro)\b"),
    (STOP, rf"\bnao\s+(?:quero|queremos|desejo|desejamos|gostaria\s+de|gostariamos\s+de|preciso|pretendo"
           rf"|pretendemos)\s+"
           rf"(?:mais\s+)?"
           rf"(?:continuar\s+(?:a\s+)?)?receb\w*(?:(?:\s+(?:mais|nenhum\w*|seus|suas|esses|essas|estes|estas"
           rf"|{_EMAILS})\b)+|{END})"),
    (STOP, r"\bnao\s+(?:quero|queremos|desejo|desejamos|gostaria\s+de)\s+(?:mais\s+)?ser\s+(?:mais\s+)?"
           r"(?:contatad|contactad|incomodad|procurad)\w*"),
    (STOP, rf"\bnao\s+(?:me\s+|nos\s+)?(?:\w+\s+)?{_SENDING}\w*\s+(?:mais|nunca\s+mais|de\s+novo|novamente)\b"),
    (STOP, rf"\bnao\s+(?:me|nos)\s+{_SENDING}\w*{END}"),
    (MAYBE, rf"\bnao\s+(?:me|nos)\s+{_SENDING}\w*"),
    (OUT, rf"\b(?:pare|parem|para|deixe|deixem)\s+de\s+(?:me\s+|nos\s+)?{_SENDING}\w*"),
    (OUT, rf"\b(?:parar|deixar|parassem|deixassem|parem)\s+de\s+(?:me|nos)\s+{_SENDING}\w*"),
    (STOP, rf"\bchega\s+de\s+{_EMAILS}\b|\bnada\s+mais\s+de\s+{_EMAILS}\b|\bsem\s+mais\s+{_EMAILS}\b"),
    (MAYBE, r"\bnao\s+(?:tenho|temos)\s+(?:nenhum\s+)?interesse\b|\bnao\s+(?:estou|estamos|sou)"
            r"\s+interessad[oa]s?\b|\bsem\s+interesse\b|\bnao\s+(?:me|nos)\s+interessa\b"),
    (MAYBE, r"\bnao,?\s+obrigad[oa]\b|\bnao\s+(?:e|eh)\s+o\s+momento\b"
            r"|\b(?:agora|no\s+momento|por\s+enquanto)\s+nao\b"
            r"|\bnao\s+precisamos\b"),
    (MAYBE,
     r"\b(?:pessoa|contato|contacto|endereco|e-?mail)\s+errad[oa]\b|\bnao\s+sou\s+(?:a\s+pessoa|o\s+contato|o\s+responsavel"
     r"|a\s+responsavel|quem)\b|\bnao\s+trabalh[ao]\s+mais\b|\bja\s+nao\s+trabalh[ao]\b|\b(?:sai|saiu)\s+da\s+empresa\b"),
    (MAYBE, SPAM + r"|\bcomo\s+(?:conseguiu|conseguiram|obteve|obtiveram|tem"
            r"|tiveram)\s+(?:o\s+)?meu\b|\bnunca\s+me\s+(?:cadastrei|inscrevi)\b"),
    (MAYBE, r"\bcontinu(?:o|am|a)\s+(?:a\s+)?(?:receb|me\s+envi|me\s+mand|envi)\w*"),
    (MAYBE, r"\bpor\s+favor,?\s+nao(?=\s*(?:$|[.!;\n]))"),
    (SHORT_OUT, r"\b(?:descadastrar|descadastro|descadastre|remover|descadastramento)\b"),
    (SHORT_MAYBE, r"\b(?:pare|parem|chega|stop)\b"),
    (WHOLE_MAYBE, r"\bnao\b"),
])
