"""Prompts and fixed messages. Answers cite numbered sources; the model says plainly when the
documentation does not hold the answer, with a sentence we can recognise."""

from __future__ import annotations

from confluence_rag.retrieval.search import Source

NOT_FOUND = {
    "fr": "Je n'ai pas trouvé la réponse dans la documentation.",
    "en": "I could not find the answer in the documentation.",
}
EXTRACTIVE_HEADER = {
    "fr": "*Mode extractif : aucun LLM n'est configuré. Voici les passages les plus pertinents de la "
    "documentation.*\n\n",
    "en": "*Extractive mode: no LLM is configured. Here are the most relevant passages of the documentation.*\n\n",
}

SYSTEM_PROMPT = """You answer questions about the company's internal documentation (Confluence).
Use only the numbered context passages below; never use outside knowledge.
Cite the passages you use with their numbers in square brackets, e.g. [1] or [2][3], right after the
statement they support. Answer in the language of the question (French if the question is in French).
Be concise; use Markdown lists or tables when they help.
If the passages do not contain the answer, reply with exactly this sentence and nothing else:
"{not_found_fr}" for a question in French, or "{not_found_en}" for a question in English.

Context passages:
{context}"""

CONDENSE_PROMPT = """Rewrite the last user message of this conversation as one standalone question that can
be understood without the conversation, in the same language as that message. Reply with the question only.

Conversation:
{history}

Last user message: {question}

Standalone question:"""


def format_context(sources: list[Source], max_chars: int) -> str:
    parts: list[str] = []
    used = 0
    for s in sources:
        block = f"[{s.n}] {s.context or s.title}\nURL: {s.url}\n{s.text}\n"
        if used + len(block) > max_chars and parts:
            break
        parts.append(block)
        used += len(block)
    return "\n".join(parts)


def system_prompt(sources: list[Source], max_chars: int) -> str:
    return SYSTEM_PROMPT.format(
        not_found_fr=NOT_FOUND["fr"], not_found_en=NOT_FOUND["en"], context=format_context(sources, max_chars)
    )


def says_not_found(answer: str) -> bool:
    normalized = answer.replace("’", "'").strip().lower()
    return any(sentence.lower().rstrip(".") in normalized for sentence in NOT_FOUND.values())


def extractive_answer(sources: list[Source], lang: str, passages: int = 3, chars: int = 700) -> list[str]:
    """The answer without an LLM: the best passages, quoted and cited, clearly labelled."""
    pieces = [EXTRACTIVE_HEADER[lang]]
    for s in sources[:passages]:
        title = f"{s.title} — {s.heading}" if s.heading and s.heading != s.title else s.title
        text = s.text if len(s.text) <= chars else s.text[:chars].rsplit(" ", 1)[0] + " …"
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())
        pieces.append(f"**{title}** [{s.n}]\n\n{quoted}\n\n")
    return pieces
