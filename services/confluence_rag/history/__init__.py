"""Conversations, feedback and usage records in a relational database (SQLAlchemy 2 + Alembic).

Nothing here is on the critical path of search and chat: a database that is down makes the history
routes answer 503, while answers keep flowing (without a conversation id).
"""
