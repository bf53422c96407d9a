"""Who may read what: the one home of access control.

- `rule.py`: the read rule (space grant ∧ every restriction layer) and its data model;
- `confluence.py`: reading that data from Confluence (space permissions, restrictions, groups);
- `store.py`: writing it into the index and reading it back (per chunk and side records);
- `view.py`: the query side, which chunks an identity may read;
- `explain.py`: why a user can or cannot read a page, for operators.
A new rule (attachments, comments) or a new source's reader goes here too.
"""
