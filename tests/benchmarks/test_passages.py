"""Scoring of the passage eval (benchmarks/passages.py): does a cited chunk hold the answer?"""

from benchmarks.datasets import Question
from benchmarks.passages import holds_answer

PARAGRAPH = (
    "Le musée ouvre en 1793 dans le palais du Louvre. Sa collection compte alors 537 tableaux, "
    "saisis pour la plupart dans les églises et les collections royales."
)


def question(answers: tuple[str, ...]) -> Question:
    return Question("q1", "Combien de tableaux ?", ["p1"], True, "fr", answers, PARAGRAPH)


def test_a_chunk_holds_the_answer_where_the_gold_paragraph_has_it():
    chunk = "## Histoire\n\nLe musée ouvre en 1793 dans le palais du Louvre. Sa **collection** compte 537 tableaux."
    assert holds_answer(chunk, question(("537",)))


def test_the_same_words_elsewhere_on_the_page_do_not_count():
    # 537 appears, but not next to any words of the gold paragraph around it.
    elsewhere = "En 1850, le catalogue recense 537 dessins et quelques sculptures antiques."
    assert not holds_answer(elsewhere, question(("537",)))
    assert not holds_answer(PARAGRAPH, question(("1 000 tableaux",)))  # an answer the paragraph lacks
    assert not holds_answer(PARAGRAPH, question(()))
