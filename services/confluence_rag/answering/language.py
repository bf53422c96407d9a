"""A tiny French/English guess, enough to word fixed messages in the question's language."""

from __future__ import annotations

import re

_FR = {
    "le",
    "la",
    "les",
    "un",
    "une",
    "des",
    "du",
    "de",
    "est",
    "et",
    "je",
    "mon",
    "ma",
    "mes",
    "comment",
    "pourquoi",
    "quand",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "combien",
    "où",
    "qui",
    "que",
    "pour",
    "avec",
    "dans",
    "sur",
    "il",
    "on",
    "nous",
    "vous",
    "peut",
    "faut",
    "ce",
    "cette",
    "au",
    "aux",
}
_EN = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "and",
    "i",
    "my",
    "how",
    "why",
    "when",
    "what",
    "which",
    "where",
    "who",
    "do",
    "does",
    "can",
    "to",
    "for",
    "with",
    "in",
    "on",
    "of",
    "it",
    "we",
    "you",
    "this",
}


def detect_language(text: str) -> str:
    words = re.findall(r"[\wà-ÿ']+", text.lower())
    fr = sum(w in _FR for w in words) + 2 * len(re.findall(r"[éèêàçùâîôû]", text.lower()))
    en = sum(w in _EN for w in words)
    return "en" if en > fr else "fr"
