"""No leak, nothing wrongly withheld: randomized Confluence permission scenarios against an oracle.

Each scenario is a random Confluence (Cloud or Server/DC) served by the fake over HTTP: a page tree
(Cloud folders included), users, groups with nested membership, space view grants with and without
anonymous access, read restrictions at random depths on users and groups. It is synced with the
real pipeline (real embedding model, embedded Chroma, one collection per scenario), then changed
(restrictions edited without a version bump, pages moved, a group or the space grant changed) and
synced again. After each sync, for every user and for anonymous, the pages found in
- search results,
- chat sources,
- the prompt the LLM fake received,
- the answer text,
and the space list with its page counts, must be exactly the pages the oracle
(`FakeConfluence.can_read`, Atlassian's rule on the fake's own data) says the user may read.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field

import pytest

from confluence_rag.answering.chat import ChatRequest, ChatService, Turn
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings, llm_settings
from tests.fakes.confluence import FakeConfluence

SCENARIOS = int(__import__("os").environ.get("LEAK_N", 200))
PER_SITE = 10  # scenarios (spaces) per fake Confluence site: one check per identity covers them all
USERS = [f"user{i}" for i in range(4)]
GROUPS = ["finance", "hr", "eng", "leads"]
QUERY = "zorblax"
TOKEN = re.compile(r"pgtok(\d+)")


@dataclass
class Tally:
    scenarios: int = 0
    syncs: int = 0
    identities: int = 0
    checks: int = 0
    decisions: int = 0  # (page, user, output) triples compared with the oracle
    leaks: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)

    def compare(self, what: str, got: set[str], expected: set[str]) -> None:
        self.checks += 1
        if got - expected:
            self.leaks.append(f"{what}: leaked {sorted(got - expected)}")
        if expected - got:
            self.withheld.append(f"{what}: withheld {sorted(expected - got)}")


def build_site(rng: random.Random) -> FakeConfluence:
    """A random deployment (Cloud or DC) with users and groups; spaces come from `add_scenario`."""
    fake = FakeConfluence(cloud=rng.random() < 0.5, page_cap=50, restriction_cap=rng.choice([1, 2, 200]))
    for user in USERS:
        fake.add_user(user)
    for group in GROUPS:
        fake.add_group(group, rng.sample(USERS, rng.randint(0, 2)))
    if rng.random() < 0.7:  # nested membership: the members of `inner` are members of `outer`
        inner, outer = rng.sample(GROUPS, 2)
        fake.groups[outer].subgroups.add(inner)
    return fake


def add_scenario(rng: random.Random, fake: FakeConfluence, space: str) -> None:
    """One scenario = one space: a random tree (Cloud folders too), a random view grant, restrictions
    at random depths."""
    fake.add_space(space)
    fake.set_space_permissions(
        space,
        users=rng.sample(USERS, rng.randint(0, 2)),
        groups=rng.sample(GROUPS, rng.randint(0, 3)),
        anonymous=rng.random() < 0.3,
    )
    parents: list[str] = []
    for i in range(rng.randint(4, 8)):
        parent = rng.choice(parents) if parents and rng.random() < 0.8 else None
        folder = fake.cloud and rng.random() < 0.15
        page = fake.add_page(
            space,
            f"Folder {i}" if folder else f"Page {i}",
            "" if folder else f"<p>{QUERY} placeholder</p>",
            parent=parent,
            type="folder" if folder else "page",
        )
        page.html = page.html.replace("placeholder", f"pgtok{page.id} body text")
        parents.append(page.id)
        if rng.random() < 0.35:
            restrict_randomly(rng, fake, page.id)


def restrict_randomly(rng: random.Random, fake: FakeConfluence, page_id: str) -> None:
    users = rng.sample(USERS, rng.randint(0, 2))
    groups = rng.sample(GROUPS, rng.randint(0 if users else 1, 2))
    fake.set_read_restriction(page_id, users=users, groups=groups)


def subtree(fake: FakeConfluence, page_id: str) -> set[str]:
    found = {page_id}
    changed = True
    while changed:
        changed = False
        for page in fake.pages.values():
            if page.parent in found and page.id not in found:
                found.add(page.id)
                changed = True
    return found


def mutate(rng: random.Random, fake: FakeConfluence, space: str) -> None:
    """What happens in a space between two syncs; no permission change bumps a page version."""
    ids = [p.id for p in fake.pages.values() if p.space == space]
    for page_id in rng.sample(ids, min(len(ids), rng.randint(1, 3))):
        if rng.random() < 0.5:
            restrict_randomly(rng, fake, page_id)
        else:
            fake.set_read_restriction(page_id)
    mover = rng.choice(ids)
    targets = [i for i in ids if i not in subtree(fake, mover)]
    fake.move_page(mover, parent=rng.choice([*targets, None]))
    perms = fake.space_perms[space]
    if rng.random() < 0.3:
        perms.anonymous = not perms.anonymous
    if rng.random() < 0.3:
        perms.groups.symmetric_difference_update({rng.choice(GROUPS)})


def mutate_groups(rng: random.Random, fake: FakeConfluence) -> None:
    if rng.random() < 0.7:
        fake.groups[rng.choice(GROUPS)].members.symmetric_difference_update({rng.choice(USERS)})


def identity_for(fake: FakeConfluence, username: str | None, groups_source: str) -> Identity:
    if username is None:
        return ANONYMOUS
    user = fake.users[username]
    groups = fake.groups_of(username)
    token_groups = frozenset(fake.groups[g].id if fake.cloud else g for g in groups)
    return Identity(
        user=user.account_id if fake.cloud else username,
        groups=token_groups if groups_source == "token" else frozenset(),
        is_admin=False,
    )


def chat(service: ChatService, identity: Identity, top_k: int) -> list[tuple[str, dict]]:
    async def collect():
        request = ChatRequest([Turn("user", f"{QUERY} ?")], top_k)
        return [event async for event in service.stream(request, identity=identity)]

    return asyncio.run(collect())


def check(tally: Tally, fake: FakeConfluence, components: Components, fake_llm, label: str) -> None:
    search = SearchService(components)  # a fresh keyword index: it reflects the syncs just made
    chat_service = ChatService(components, search)
    indexed = {p.id for p in fake.pages.values() if p.type == "page"}
    top_k = len(indexed) + 5
    for username in [*USERS, None]:
        tally.identities += 1
        identity = identity_for(fake, username, components.settings.groups_source)
        expected = {pid for pid in indexed if fake.can_read(username, pid)}
        who = f"{label} {username or 'anonymous'}"
        tally.decisions += 4 * len(indexed)  # search, chat sources, prompt, space counts

        results = search.search(QUERY, top_k=top_k, identity=identity)
        tally.compare(f"{who} search", {r.page_id for r in results}, expected)

        counts = {s["key"]: s["pages"] for s in search.spaces(identity=identity)}
        expected_counts: dict[str, int] = {}
        for pid in expected:
            expected_counts[fake.pages[pid].space] = expected_counts.get(fake.pages[pid].space, 0) + 1
        tally.compare(
            f"{who} spaces", {f"{k}={v}" for k, v in counts.items()}, {f"{k}={v}" for k, v in expected_counts.items()}
        )

        before = len(fake_llm.answer_requests)
        events = chat(chat_service, identity, top_k)
        sources = next(data for event, data in events if event == "sources")["sources"]
        tally.compare(f"{who} chat sources", {s["page_id"] for s in sources}, expected)
        answer = "".join(data["text"] for event, data in events if event == "token")
        prompts = fake_llm.answer_requests[before:]
        prompt = prompts[-1]["messages"][0]["content"] if prompts else ""
        tally.compare(f"{who} prompt", set(TOKEN.findall(prompt)), expected)
        first = {sources[0]["page_id"]} if sources else set()
        tally.compare(f"{who} answer", set(TOKEN.findall(answer)), first)


@pytest.fixture(scope="module")
def shared_embedder(tmp_path_factory):
    from confluence_rag.settings import Settings

    return Components(Settings(_env_file=None, chroma_path=tmp_path_factory.mktemp("unused"))).embedder


# ~2 min on an idle 2-core machine; the limit leaves room for a shared, loaded one.
@pytest.mark.timeout(1200)
def test_randomized_scenarios_leak_nothing_and_withhold_nothing(shared_embedder, fake_llm, make_settings, tmp_path):
    rng = random.Random(20261201)
    tally = Tally()
    sites = SCENARIOS // PER_SITE
    for site in range(sites):
        fake = build_site(rng)
        spaces = [f"S{site}X{n}" for n in range(PER_SITE)]
        for space in spaces:
            add_scenario(rng, fake, space)
        fake.start()
        try:
            settings = make_settings(
                **confluence_settings(fake),
                **llm_settings(fake_llm),
                chroma_collection=f"leak{site}",
                state_dir=tmp_path / f"state{site}",
                groups_source=rng.choice(["confluence", "token"]),
                permissions="confluence",
                llm_context_window=200_000,  # every readable passage fits in the prompt
            )
            components = Components(settings)
            components.__dict__["embedder"] = shared_embedder  # the one real model, loaded once
            for space in spaces:
                ingest_space(components, space)
            check(tally, fake, components, fake_llm, f"site {site} sync 1")
            for space in spaces:
                mutate(rng, fake, space)
            mutate_groups(rng, fake)
            for space in spaces:
                ingest_space(components, space)  # incremental: the permission pass notices the changes
            check(tally, fake, components, fake_llm, f"site {site} sync 2")
            tally.syncs += 2 * len(spaces)
            tally.scenarios += len(spaces)
            for name in (f"leak{site}", f"leak{site}__meta"):
                components.store().client.delete_collection(name)
        finally:
            fake.stop()
    print(
        f"\nleak test: {tally.scenarios} scenarios (spaces) on {sites} sites, {tally.syncs} space syncs, "
        f"{tally.identities} identity checks ({len(USERS)} users + anonymous after each round of syncs), "
        f"{tally.checks} comparisons covering {tally.decisions} (page, user, output) decisions, "
        f"leaks {len(tally.leaks)}, wrongly withheld {len(tally.withheld)}"
    )
    assert tally.scenarios == SCENARIOS
    assert not tally.leaks, tally.leaks[:10]
    assert not tally.withheld, tally.withheld[:10]
