"""English: "remove me from your list", "take me off", "unsubscribe", "stop emailing me", "don't contact me again",
"I don't wish to receive these emails"; and the refusals that leave it to a person ("not interested", "wrong
person", "no longer with the company")."""

from __future__ import annotations

from storage.reply_phrases.base import END, MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, SPAM, STOP, VERB, WHOLE_MAYBE, phrases

_ME = r"(?:me|us|myself|ourselves)"
_MY_CONTACT = (r"(?:(?:my|our)\s+(?:(?:e-?mail|mail|contact|personal|work|business|old|current)\s+){0,2}"
               r"(?:e-?mail(?:\s+address(?:es)?)?|e-?mails|address(?:es)?|details|contact(?:s|\s+(?:info|information"
               r"|details|data))?|info(?:rmation)?|names?|data|personal\s+data|records?)|this\s+(?:e-?mail\s+)?address)")
_OBJ = rf"(?:{_ME}|{_MY_CONTACT})"
_LIST = (r"(?:(?:your|the|this|that|these|those|all|any|all\s+of\s+your|all\s+your|our|future|further|every|each"
         r"|such)\s+){0,3}(?!(?:guest|attendee|attendees|waiting|wait|invite|invitation|speaker|participant|short"
         r"|candidate|beta|meeting|calendar|call|thread|chat|group|channel)\b)(?:[\w-]+\s+){0,2}?(?:list|lists"
         r"|mailing(?:s|\s+lists?)?|database|databases|db|distribution|e-?mails?|mails|communications?|correspondence"
         r"|newsletters?|campaigns?|sequences?|cadences?|systems?|crm|contacts?|records|outreach|marketing|automation"
         r"|mailers?|promotions?)\b(?!\s+(?:of|for)\b)")
_REMOVE = (r"(?:remov(?:e|es|ed|ing)|delet(?:e|es|ed|ing)|eras(?:e|es|ed|ing)|drop(?:s|ped|ping)?|strik(?:e|es|ing)"
           r"|scrub(?:s|bed|bing)?|purg(?:e|es|ed|ing)|exclud(?:e|es|ed|ing))")
_TAKE = r"(?:tak(?:e|es|ing)|took|taken|get|got|getting|keep|kept|cross)"
_DONE = r"(?:removed|deleted|erased|dropped|taken\s+off|unsubscribed|excluded|opted\s+out|scrubbed|purged)"
_OFF = r"(?:off(?:\s+of)?|from|out\s+of)"
_NOT_MAIL = (r"(?!(?:(?:the|this|that|your|our|my|next|friday's|tomorrow's)\s+)?(?:cc|bcc|calendar|invite|invitation"
             r"|meeting|call|webinar|event|project|channel|slack|group\s+chat|whatsapp|agenda)\b)")
_STOP_VERB = r"(?:stop|quit|cease|discontinue|halt)"
_CONTACTING = (r"(?:e-?mailing|mailing|messaging|contacting|spamming|sending|writing(?:\s+to)?|bothering|pestering"
               r"|bugging|harass(?:ing)?|pinging|texting|calling|following\s+up(?:\s+with)?|reaching\s+out(?:\s+to)?"
               r"|hitting\s+up|chasing)")
_EMAILS = (r"(?:e-?mails?|mails|messages|spam|spamming|follow[\s-]?ups?|outreach|solicitations?|newsletters?"
           r"|marketing|communications?|offers|sales\s+pitch(?:es)?)")
_NEG = r"(?:don't|dont|do\s+not|never|no\s+longer|rather\s+not|would\s+rather\s+not|won't|will\s+not)"

PHRASES = phrases("en", [
    (OUT, rf"\b{_REMOVE}\s+{_OBJ}\s+{_OFF}\s+{_LIST}"),
    (OUT, rf"\b{_REMOVE}\s+{_OBJ}{END}"),
    # "Remove me from this thread" may be; "from the CC", "from the invite" is about something else.
    (MAYBE, rf"\b{_REMOVE}\s+{_OBJ}\s+{_OFF}\s+{_NOT_MAIL}\w+"),
    # Someone else off *our* list: a person decides. Off their own ("old leads from our CRM"): not about us.
    (MAYBE, rf"\b{_REMOVE}\s+(?!{_OBJ}\b)[\w@.'-]+(?:\s+[\w@.'-]+){{0,4}}?\s+{_OFF}\s+"
            rf"(?=your|the|this|that|all)\b{_LIST}"),
    (OUT, rf"\b{_TAKE}\s+{_OBJ}\s+(?:off(?:\s+of)?|out\s+of)\s+{_LIST}"),
    (OUT, rf"\b{_TAKE}\s+{_OBJ}\s+off{END}"),
    (MAYBE, rf"\b{_TAKE}\s+{_OBJ}\s+off\s+{_NOT_MAIL}"),
    (OUT,
     rf"\b(?:i|we)(?:'d|'m|'ve|\s+\w+){{0,4}}?\s+(?:be|being|get|getting|got|been)\s+{_DONE}(?:\s+{_OFF}\s+{_LIST}|{END})"),
    (OUT, rf"\b{_OBJ}\s+{_DONE}(?:\s+{_OFF}\s+{_LIST}|{END})"),
    (OUT, rf"\b{_REMOVE}\s+{_OFF}\s+{_LIST}"),
    (OUT, rf"\bwant(?:s|ed)?\s+off\s+{_LIST}"),
    (VERB, r"\bun[\s-]?su[bs]{0,2}c?r?i?b(?:e|ed|ing)?\b"),
    (VERB, r"\bopt(?:s|ed|ing)?[\s-]*(?:me\s+|us\s+)?out\b|\boptout\b"),
    (OUT, rf"\b{_STOP_VERB}\s+(?:(?:all|the|these|those|your|this|any|such)\s+)*"
          rf"{_CONTACTING}\s+(?:me|us|my\s+\w+|this\s+(?:e-?mail\s+)?address)\b"),
    (OUT, rf"\b{_STOP_VERB}\s+(?:(?:all|the|these|those|your|this|any|such"
          rf"|sending(?:\s+me)?|with\s+the)\s+)+{_EMAILS}\b"),
    (OUT, rf"\b{_STOP_VERB}\s+(?:e-?mailing|spamming|mailing|contacting){END}"),
    (STOP, rf"\b(?:don't|dont|do\s+not|never)\s+(?:ever\s+)?(?:e-?mail|mail|contact|message|write"
           rf"(?:\s+to)?|spam|bother|pester|reach\s+out\s+to|follow\s+up\s+with|ping|send)\s+(?:me|us)"
           rf"(?:\s+(?:any(?:\s*more|thing)?|more|further|another|other)(?:\s+{_EMAILS})?|\s+{_EMAILS})?"
           rf"(?:{END}|\s+(?:any\s*more|ever|further|in\s+the\s+future|going\s+forward|at\s+this"
           rf"|on\s+this|about\s+this|with\s+(?:this|these|offers|your)))"),
    (MAYBE, r"\b(?:don't|dont|do\s+not)\s+(?:e-?mail|contact|message|write\s+to)\s+(?:me|us)\b"
            r"(?!\s+(?:the|a|an|this|that|it|these|those|your|my)\b)"),  # not "don't email me the contract"
    (STOP, rf"\b{_NEG}\s+(?:want|wish|need|care|like|intend)\s+(?:to\s+)?(?:receive|get|be\s+getting|keep\s+getting|be"
           rf"\s+receiving|see)\s+(?:\w+\s+){{0,3}}?{_EMAILS}\b"),
    (STOP,
     rf"\b{_NEG}\s+(?:(?:want|wish|need|like|care)\s+)?(?:to\s+)?be\s+(?:contacted|emailed|e-mailed|messaged|solicited"
     r"|spammed|on\s+(?:your|the|this|any)\s+(?:[\w-]+\s+)?(?:list|database|mailing\s+list))\b"),
    (STOP, r"\brather\s+not\s+(?:receive|get|be\s+(?:contacted|e-?mailed)|hear\s+from\s+you)"),
    (STOP, r"\b(?:wish|want|like|prefer|ask)\s+(?:to\s+)?no\s+longer\s+(?:receive|get|be\s+contacted"
           r"|be\s+e-?mailed|hear)"),
    (STOP, rf"\b(?:don't|dont|do\s+not|no\s+longer)\s+(?:want|wish|need)\s+(?:to\s+hear\s+from\s+you"
           rf"|your\s+(?:[\w-]+\s+)?{_EMAILS}|(?:any|more|these|those)\s+(?:more\s+)?{_EMAILS})"),
    (STOP, rf"\bnot\s+interested\s+in\s+(?:receiving|getting|hearing)\s+(?:(?:\w+\s+){{0,3}}?{_EMAILS}"
           r"|from\s+you)"),
    (STOP, r"\bno\s+(?:more|further)\s+(?:e-?mails?|mails|messages|contact|outreach|follow[\s-]?ups?"
           r"|spam|solicitations?)\b(?!\s+(?:needed|necessary|required|for\s+now))"),
    (OUT, r"\bleave\s+(?:me|us)\s+alone\b"),
    (STOP, r"\b(?:add|put|place)\s+(?:me|us|my\s+[\w-]+(?:\s+address)?)\s+(?:on|to|in)\s+(?:your|the)\s+"
           r"(?:do[\s-]*not[\s-]*(?:contact|e-?mail|mail|call)|dnc|suppression|unsubscribed?|opt[\s-]*out"
           r"|block|black|no[\s-]*contact)[\s-]*list"),
    (MAYBE, r"\b(?:not|no|un)[\s-]?interest(?:ed|ing)?\b|\bno\s+interest\b|\bnot\s+of\s+interest\b"),
    (MAYBE, r"\bnot\s+relevant\b|\bnot\s+(?:a\s+)?(?:good\s+)?fit\b|\bno\s+need\b(?!\s+to)|\bno\s+thank(?:s|\s+you)\b"
            r"|\bnot\s+for\s+(?:us|me)\b|\b(?:we're|we\s+are|i'm|i\s+am)\s+all\s+set\b|\bnot\s+at\s+this\s+time\b"
            r"|\bnot\s+(?:right\s+)?now\b|\bnot\s+looking\b|\bno\s+budget\b|\b(?:i'll|we'll|i\s+will|we\s+will)\s+pass\b"
            r"|\bpass\s+on\s+this\b|\b(?:we're|we\s+are)\s+good(?=\s*(?:$|[.!,]|thanks))"),
    (MAYBE, r"\bwrong\s+(?:person|contact|guy|department|team|address|e-?mail|company|individual|people|one)\b"
            r"|\bnot\s+the\s+(?:right|correct|appropriate|best)\s+(?:person|contact|one|fit)\b"
            r"|\bnot\s+(?:the\s+)?(?:person|one)\s+(?:who|you|responsible|in\s+charge)\b|\bnot\s+my\s+(?:area|department"
            r"|responsibility|call|decision)\b|\bno\s+longer\s+(?:with|at|works?|working|employed|part\s+of)\b|\b(?:left|leaving|have"
            r"\s+left|has\s+left)\s+(?:the|this)\s+(?:company|organi[sz]ation|firm|business)\b|\bi(?:'ve|\s+have)\s+(?:retired"
            r"|moved\s+on)\b|\b(?:don't|do\s+not|no\s+longer)\s+work\s+(?:at|for|there|here|with)\b"),
    (MAYBE,
     SPAM + r"|\breport(?:ed|ing)?\s+(?:you|this|it)\b|\bnever\s+(?:signed\s+up|subscribed|opted\s+in|asked|gave)\b"
     r"|\bdidn't\s+(?:sign\s+up|subscribe|opt\s+in|ask)\b|\b(?:how|where)\s+did\s+you\s+(?:get|find|obtain)\s+my\b"
     r"|\bwho\s+gave\s+you\s+my\b|\bcancel\s+my\s+subscription\b"),
    (MAYBE, r"\b(?:stop|quit)\s+(?:sending|e-?mailing|contacting|writing|messaging)\b"
            r"(?=\s*(?:$|[.!?,;]|me\b|us\b|these\b|this\b|them\b|those\b|your\b|e-?mails|please|now))"),
    (MAYBE, r"\b(?:keeps?|still|continue\s+to|continues\s+to)\s+(?:e-?mailing|sending|contacting"
            r"|spamming|writing\s+to|getting|receiving)\s+(?:me\b|us\b|these|your|e-?mails)"),
    (MAYBE, r"\b(?:can|could|would|will)\s+you\s+(?:please\s+)?stop"
            r"(?=\s*(?:$|[.!?,;]|please|already|now|it\b|this\b))"),
    (MAYBE, r"\bgo\s+away\b|\bget\s+lost\b"),
    (MAYBE, r"\bplease\s+(?:don't|do\s+not)(?=\s*(?:$|[.!,;\n]|thanks?|thank\s+you))"),
    (MAYBE, r"\benough\s+(?:with\s+)?(?:the\s+|your\s+)?(?:e-?mails|emails|messages|spam|follow[\s-]?ups)\b"),
    (SHORT_OUT, r"\b(?:remove|opt[\s-]?out|do\s+not\s+(?:contact|e-?mail)|dnc)\b"),
    (SHORT_MAYBE, r"\b(?:stop|halt|enough)\b"),
    (WHOLE_MAYBE, r"\b(?:no|nope|nah|pass)\b"),
])
