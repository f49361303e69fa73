"""The words people use, in six languages, to ask a sender to stop — and the words that only might mean it.

Patterns run on folded text (lower case, accents removed, ’ → '), so "Elimíname", "ELIMINAME" and "eliminame"
are one. Each phrase is a verb with its object ("remove me from your list", "retirez-moi de votre liste",
"tragen Sie mich aus"), not a sentence from a corpus, and has a kind that says how ``storage.reply_intent``
weighs it:

- OUT: an unambiguous request, when nothing around it negates it ("don't remove me"), asks about it ("how do I
  unsubscribe?"), makes it conditional, postpones it or redirects it.
- STOP: a request whose negation is part of it ("don't email me again", "no me escribas más", "keine weiteren
  E-Mails"), so it is not checked for a negation before it.
- VERB: a verb that means opting out by itself ("unsubscribe", "darse de baja", "abmelden", "descadastrar"):
  a request when it is said of the writer (a first-person subject or object, a clitic, "please", or alone as an
  imperative); said of someone else or in passing, it is only "ambiguous".
- MAYBE: a refusal that leaves the decision to a person ("not interested", "wrong person", "kein Interesse").
- SHORT_OUT / SHORT_MAYBE: words that count only when they are the whole clause ("Unsubscribe.", "BAJA",
  "Stop!"); WHOLE_MAYBE only when they are the whole reply ("No.", "Nein").

Each phrase's keys, substrings every match contains, are read from its regex (``base.required_substrings``): a
phrase is only tried on a reply that holds one of them, which is most of the speed.
"""

from __future__ import annotations

from storage.reply_phrases import english, french, german, italian, portuguese, spanish
from storage.reply_phrases.base import MAYBE, OUT, SHORT_MAYBE, SHORT_OUT, STOP, VERB, WHOLE_MAYBE, Phrase

__all__ = ["MAYBE", "OUT", "PHRASES", "SHORT_MAYBE", "SHORT_OUT", "STOP", "VERB", "WHOLE_MAYBE", "Phrase"]

PHRASES: tuple[Phrase, ...] = (*english.PHRASES, *spanish.PHRASES, *french.PHRASES, *german.PHRASES,
                               *portuguese.PHRASES, *italian.PHRASES)
