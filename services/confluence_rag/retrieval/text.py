"""Keyword tokenization: case- and accent-insensitive, French and English stop words, stemming.

"Réinitialiser", "réinitialisation" and "REINITIALISATION" all become `reinitialis`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

_WORD = re.compile(r"[a-z0-9]+")
# Question words that bm25s' lists keep but that carry no topic in a question.
_QUESTION_WORDS = (
    "comment",
    "pourquoi",
    "quand",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "combien",
    "ou",
    "faut",
    "peut",
    "peux",
    "dois",
    "doit",
    "do",
    "does",
    "did",
    "can",
    "could",
    "should",
    "how",
    "what",
    "when",
    "which",
    "why",
    "who",
    "where",
)


def fold(text: str) -> str:
    """Lower-case and strip accents (é → e, ç → c, œ stays œ → oe)."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(fold(w) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN, *_QUESTION_WORDS))


class KeywordAnalyzer:
    def __init__(self, stemmers: tuple[str, ...] = ("french", "english")):
        self._stemmers = [Stemmer.Stemmer(lang) for lang in stemmers]

    def __call__(self, text: str) -> list[str]:
        stop = _stopwords()
        tokens = [t for t in _WORD.findall(fold(text)) if t not in stop and len(t) > 1]
        for stemmer in self._stemmers:
            tokens = stemmer.stemWords(tokens)
        return tokens
