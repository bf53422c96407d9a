"""Atlassian's read rule as the index encodes it (docs/confluence.md#the-read-rule)."""

from __future__ import annotations

from confluence_rag.access.rule import (
    DENY_LAYER,
    PUBLIC,
    SpaceAccess,
    SpaceGrant,
    access_key,
    can_read,
    canonical,
    layers_from_json,
    layers_json,
)

SPACE = SpaceGrant(frozenset({"g:staff", "u:bob"}))
ALICE = frozenset({"u:alice", "g:staff", "g:eng"})
CAROL = frozenset({"u:carol", "g:staff", "g:finance"})
BOB = frozenset({"u:bob"})


def test_no_restriction_means_space_view_decides():
    assert can_read(ALICE, SPACE, ())
    assert can_read(BOB, SPACE, ())
    assert not can_read(frozenset({"u:dave", "g:contractors"}), SPACE, ())


def test_every_layer_must_be_passed_not_only_the_nearest():
    parent = ("g:finance",)
    child = ("u:alice", "u:carol")
    layers = canonical([parent, child])
    assert can_read(CAROL, SPACE, layers)  # in finance (parent) and listed on the child
    # Alice is listed on the child but not on the restricted parent: denied (Onyx's "nearest wins" would grant).
    assert not can_read(ALICE, SPACE, layers)


def test_a_group_in_a_layer_passes_it_and_a_user_in_that_group_too():
    # Elastic intersects identity tokens ({g:eng} ∩ {u:alice} = ∅) and denies Alice: wrong.
    layers = canonical([("g:eng",), ("u:alice",)])
    assert can_read(ALICE, SPACE, layers)


def test_space_view_is_required_even_when_listed_in_every_restriction():
    layers = canonical([("u:dave",)])
    assert not can_read(frozenset({"u:dave"}), SPACE, layers)


def test_anonymous_space_access_but_no_restricted_page_for_anonymous():
    open_space = SpaceGrant(frozenset({"g:staff"}), anonymous=True)
    assert can_read(frozenset(), open_space, ())
    assert not can_read(frozenset(), open_space, canonical([("g:staff",)]))
    assert not can_read(frozenset(), SPACE, ())  # no anonymous grant
    assert can_read(frozenset({"u:unmapped"}), PUBLIC, ())  # an unmapped user sees what anonymous sees


def test_unreadable_ancestor_denies_everyone():
    layers = canonical([DENY_LAYER, ("g:staff",)])
    assert not can_read(ALICE, SPACE, layers)
    access = SpaceAccess("ENG", SPACE, {"1": ()})
    assert access.layers_for("2") == (DENY_LAYER,)  # a page the pass did not see
    assert access.layers_for("att9", parent_id="1") == ()  # an attachment takes its page's access


def test_canonical_form_and_key_are_order_independent():
    a = canonical([("u:b", "g:x"), (), ("u:a",)])
    b = canonical([("u:a",), ("g:x", "u:b"), ("u:b", "g:x")])
    assert a == b == (("g:x", "u:b"), ("u:a",))
    assert layers_from_json(layers_json(a)) == a
    assert access_key("ENG", a) == access_key("ENG", b) != access_key("OPS", a)
    assert access_key("ENG", ()) != access_key("ENG", a)


def test_a_space_access_survives_json_as_a_distributed_run_ships_it():
    layers = canonical([("g:eng", "u:alice"), ("u:alice",)])
    access = SpaceAccess(
        "ENG",
        SPACE,
        {"1": (), "2": layers, "3": (DENY_LAYER,)},
        {"g:eng": frozenset({"u:alice", "u:dave"})},
        ["members of g:x unreadable"],
        chains={"1": ("1",), "2": ("1", "2"), "3": ("1", "3")},
        own={"1": (), "2": ("g:eng", "u:alice"), "3": None},
        read_at="2026-12-05T00:00:00+00:00",
    )
    back = SpaceAccess.from_json(access.to_json())
    assert back == access
    assert back.layers_for("2") == layers and back.layers_for("att9", parent_id="3") == (DENY_LAYER,)
    assert back.layers_for("4") == (DENY_LAYER,)
