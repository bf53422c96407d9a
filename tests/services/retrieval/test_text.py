from confluence_rag.retrieval.text import KeywordAnalyzer, fold


def test_accents_case_and_stemming_meet():
    analyze = KeywordAnalyzer()
    assert analyze("Réinitialiser") == analyze("réinitialisation") == analyze("REINITIALISATION")
    assert analyze("Congés") == analyze("conges")


def test_stop_words_are_dropped_in_both_languages():
    analyze = KeywordAnalyzer()
    assert analyze("Comment est-ce que je pose un congé ?") == analyze("poser congé")
    assert analyze("How do I reset the password") == analyze("reset password")


def test_fold():
    assert fold("Œuvre Ça ÉTÉ") == "oeuvre ca ete"
