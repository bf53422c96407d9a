"""The identity of the person asking, as the rest of the product sees it.

This is the whole interface between sign-in (api/auth.py) and permission filtering: search, chat and
the space list take an `Identity` and never look at tokens or headers themselves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    # The mapped Confluence principal (DC username / Cloud accountId), read from AUTH_USER_CLAIM
    # (oidc) or the proxy's user header; None = anonymous.
    user: str | None
    # Groups from the token's AUTH_GROUPS_CLAIM or the proxy's groups header (for GROUPS_SOURCE=token).
    groups: frozenset[str]
    is_admin: bool
    display_name: str = ""

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Identity(None, frozenset(), False)
