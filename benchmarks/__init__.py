"""Retrieval-quality evaluation (`make eval`) and performance benchmarks (`make bench`).

Kept out of `tests/` on purpose: they take minutes and are never collected by pytest. The data
is read at run time from ../shared/data or SHARED_DATA_DIR (`benchmarks/datasets.py` says what is
needed when it is missing); only a small excerpt is kept in the repository, for the tests
(tests/fixtures/data).
"""
