"""Retrieval-quality evaluation (`make eval`) and performance benchmarks (`make bench`).

Kept out of `tests/` on purpose: they take minutes and are never collected by pytest. The data
is read at run time from ../shared/data (see its README); nothing of it is copied into the repo.
"""
