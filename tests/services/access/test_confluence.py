"""Reading Confluence permissions over HTTP: the fake's shapes (confluence_permissions.md §2) and the
reader's decisions on Cloud, Server/DC 9.1+ and older DC (JSON-RPC), with the known faults."""

from __future__ import annotations

import httpx
import pytest

from confluence_rag.access.rule import DENY_LAYER, NOBODY
from confluence_rag.sources.confluence import ConfluenceClient, ConfluenceSource
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence


def populate(fake: FakeConfluence) -> dict[str, str]:
    """HR space: Payroll restricted to finance under an Executive page restricted to leads + alice."""
    for user in ("alice", "bob", "carol", "dave"):
        fake.add_user(user)
    fake.add_group("finance", ["carol", "alice"])
    fake.add_group("leads", ["dave"], subgroups=["board"])
    fake.add_group("board", ["bob"])
    fake.add_group("staff", ["alice", "bob", "carol", "dave"])
    fake.add_space("HR")
    fake.set_space_permissions("HR", users=["dave"], groups=["staff"], anonymous=False)
    home = fake.add_page("HR", "HR Home", "<p>Welcome to HR.</p>")
    execu = fake.add_page("HR", "Executive", "<p>Executive matters.</p>", parent=home.id)
    payroll = fake.add_page("HR", "Payroll", "<p>Salaries are paid on the 25th.</p>", parent=execu.id)
    fake.set_read_restriction(execu.id, users=["alice"], groups=["leads"])
    fake.set_read_restriction(payroll.id, users=["bob", "carol", "alice"], groups=["finance", "board"])
    return {"home": home.id, "exec": execu.id, "payroll": payroll.id}


def http(fake: FakeConfluence) -> httpx.Client:
    auth = (fake.username, fake.api_token) if fake.cloud else None
    headers = {} if fake.cloud else {"Authorization": f"Bearer {fake.pat}"}
    return httpx.Client(base_url=fake.base_url, auth=auth, headers=headers, timeout=10)


@pytest.fixture
def cloud():
    fake = FakeConfluence(cloud=True, page_cap=50, restriction_cap=1)
    fake.ids = populate(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def dc():
    fake = FakeConfluence(cloud=False, page_cap=2, restriction_cap=2, dc_version="9.2.1")
    fake.ids = populate(fake)
    fake.start()
    yield fake
    fake.stop()


def source(fake: FakeConfluence, make_settings, **extra) -> ConfluenceSource:
    return ConfluenceSource(ConfluenceClient(make_settings(**confluence_settings(fake), **extra)))


# --- the fake's shapes ---------------------------------------------------------------------------
def test_cloud_search_expands_direct_restrictions_with_nested_paging(cloud):
    expand = "ancestors,version,restrictions.read.restrictions.user,restrictions.read.restrictions.group"
    with http(cloud) as client:
        body = client.get("/rest/api/content/search", params={"cql": 'space = "HR"', "expand": expand}).json()
        payroll = next(r for r in body["results"] if r["title"] == "Payroll")
        assert [a["title"] for a in payroll["ancestors"]] == ["HR Home", "Executive"]  # root first
        read = payroll["restrictions"]["read"]
        assert read["operation"] == "read"
        users = read["restrictions"]["user"]
        assert users["size"] == 1 and users["limit"] == 1 and "next" in users["_links"]  # cut at the cap
        assert set(users["results"][0]) >= {"accountId", "accountType", "email", "publicName"}
        assert users["results"][0]["email"] == ""  # hidden on Cloud
        group = read["restrictions"]["group"]["results"][0]
        assert group["type"] == "group" and group["id"].startswith("gid-")
        rest = client.get(users["_links"]["next"]).json()
        assert rest["start"] == 1 and rest["size"] == 1 and "next" in rest["_links"]
        home = next(r for r in body["results"] if r["title"] == "HR Home")
        empty = home["restrictions"]["read"]["restrictions"]
        assert empty["user"]["results"] == [] and empty["user"]["size"] == 0 and empty["group"]["size"] == 0


def test_by_operation_read_is_direct_only_and_404_when_not_viewable(cloud):
    cloud.restrict(cloud.ids["home"])  # hidden from the service account
    with http(cloud) as client:
        body = client.get(f"/rest/api/content/{cloud.ids['payroll']}/restriction/byOperation/read").json()
        assert body["operation"] == "read" and body["_expandable"]["content"].endswith(cloud.ids["payroll"])
        names = {g["name"] for g in body["restrictions"]["group"]["results"]}
        assert names == {"finance"}  # first page of the nested list only (cap 1); leads (inherited) never shows
        assert client.get(f"/rest/api/content/{cloud.ids['home']}/restriction/byOperation/read").status_code == 404


def test_cloud_space_permissions_groups_and_memberof(cloud):
    cloud.space_perms["HR"].anonymous = True
    with http(cloud) as client:
        space = client.get("/rest/api/space/HR", params={"expand": "permissions"}).json()
        read = [p for p in space["permissions"] if p["operation"] == {"operation": "read", "targetType": "space"}]
        assert any(p["anonymousAccess"] and "subjects" not in p for p in read)
        assert {p["subjects"]["group"]["results"][0]["name"] for p in read if "group" in p.get("subjects", {})} == {
            "staff"
        }
        leads = cloud.groups["leads"]
        members = client.get(f"/rest/api/group/{leads.id}/membersByGroupId").json()
        assert {m["accountId"] for m in members["results"]} == {
            cloud.users["dave"].account_id,
            cloud.users["bob"].account_id,  # nested: board ⊂ leads
        }
        groups = client.get("/rest/api/user/memberof", params={"accountId": cloud.users["bob"].account_id}).json()
        assert {g["name"] for g in groups["results"]} == {"board", "leads", "staff"}


def test_dc_space_permissions_rest_rpc_and_faults(dc):
    with http(dc) as client:
        assert client.get("/rest/api/server-information").json()["version"] == "9.2.1"
        rows = client.get("/rest/api/space/HR/permissions").json()
        assert isinstance(rows, list)
        users = [r["subject"] for r in rows if r["subject"]["type"] == "user"]
        assert users == [{"type": "user", "userKey": dc.users["dave"].user_key}]  # userKey only
        assert client.get("/rest/api/space/HR/permissions/anonymous").status_code == 404
        dc.space_perms["HR"].anonymous = True
        assert client.get("/rest/api/space/HR/permissions/anonymous").json() == [
            {"operation": {"targetType": "space", "operationKey": "read"}}
        ]
        dc.service_admin = False
        assert client.get("/rest/api/space/HR/permissions").status_code == 500  # CONFSERVER-99908
        call = {"jsonrpc": "2.0", "method": "getSpacePermissionSets", "id": 7, "params": ["HR"]}
        result = client.post("/rpc/json-rpc/confluenceservice-v2", json=call).json()["result"]
        view = next(s for s in result if s["type"] == "VIEWSPACE")["spacePermissions"]
        assert {"groupName": None, "userName": None} in view and {"groupName": None, "userName": "dave"} in view
        dc.rpc_enabled = False
        assert client.post("/rpc/json-rpc/confluenceservice-v2", json=call).status_code == 401
        members = client.get("/rest/api/group/staff/member", params={"limit": 2}).json()
        assert members["size"] == 2 and "start=1" in members["_links"]["next"]  # DC under-counts start


def test_cloud_77618_ancestor_restrictions_expand_404s_the_whole_batch(cloud):
    trashed = cloud.add_page("HR", "Old draft", "<p>old</p>", status="trashed")
    cloud.add_page("HR", "Child of trashed", "<p>orphan</p>", parent=trashed.id)
    with http(cloud) as client:
        params = {"cql": 'space = "HR"', "expand": "ancestors.restrictions.read.restrictions.user"}
        response = client.get("/rest/api/content/search", params=params)
        assert response.status_code == 404
        error = response.json()["data"]["errors"][0]["message"]["translation"]
        assert error == f"No content with id <ContentId{{id={trashed.id}}}> can be found"
        assert client.get("/rest/api/content/search", params={"cql": 'space = "HR"', "expand": "ancestors"}).is_success


# --- the reader ------------------------------------------------------------------------------------
def test_dc_reader_uses_usernames_and_group_names(dc, make_settings):
    access = source(dc, make_settings).access("HR")
    assert access.grant.principals == {"u:dave", "g:staff"} and not access.grant.anonymous
    assert access.pages[dc.ids["home"]] == ()
    assert access.pages[dc.ids["payroll"]] == (  # canonical: layers sorted
        ("g:board", "g:finance", "u:alice", "u:bob", "u:carol"),  # its own (both nested pages followed)
        ("g:leads", "u:alice"),  # Executive's, from the same listing
    )
    assert access.groups["g:leads"] == {"u:dave", "u:bob"}
    assert access.groups["g:staff"] == {"u:alice", "u:bob", "u:carol", "u:dave"}  # paged, start re-derived
    assert access.problems == []
    listing = [r for r in dc.requests if "/content/search" in r]
    assert listing and all("ancestors.restrictions" not in r for r in listing)
    # Every ancestor was in the listing: no byOperation lookup, only the nested page that was cut.
    assert not [r for r in dc.requests if r.split("?")[0].endswith("/byOperation/read")]
    assert [r for r in dc.requests if "/byOperation/read/user?start=2" in r]


def test_cloud_reader_uses_account_ids_group_ids_and_reads_folders_once(cloud, make_settings):
    folder = cloud.add_page("HR", "Private folder", "", type="folder")
    for i in range(3):
        cloud.add_page("HR", f"Review {i}", "<p>review</p>", parent=folder.id)
    cloud.set_read_restriction(folder.id, groups=["finance"])
    access = source(cloud, make_settings).access("HR")
    finance = "g:" + cloud.groups["finance"].id
    assert access.grant.principals == {"u:" + cloud.users["dave"].account_id, "g:" + cloud.groups["staff"].id}
    reviews = [p.id for p in cloud.pages.values() if p.title.startswith("Review")]
    assert {access.pages[r] for r in reviews} == {((finance,),)}
    assert len([r for r in cloud.requests if f"/content/{folder.id}/restriction/byOperation/read" in r]) == 1
    assert access.groups[finance] == {"u:" + cloud.users[u].account_id for u in ("alice", "carol")}


def test_unreadable_ancestor_denies_its_subtree(cloud, make_settings):
    trashed = cloud.add_page("HR", "Old draft", "<p>old</p>", status="trashed")
    child = cloud.add_page("HR", "Child of trashed", "<p>orphan</p>", parent=trashed.id)
    access = source(cloud, make_settings).access("HR")
    assert DENY_LAYER in access.pages[child.id]
    assert any(trashed.id in p for p in access.problems)


@pytest.mark.parametrize("fault", ["non_admin_rest", "rpc_disabled", "rpc_websudo"])
def test_dc_space_permissions_that_cannot_be_read_grant_nobody(dc, make_settings, fault):
    if fault == "non_admin_rest":
        dc.service_admin = False
    else:
        dc.dc_version = "8.5.4"  # below 9.1: JSON-RPC
        dc.rpc_enabled = fault != "rpc_disabled"
        dc.rpc_websudo = fault == "rpc_websudo"
    access = source(dc, make_settings, confluence_max_retries=0).access("HR")
    assert access.grant == NOBODY
    assert access.problems and "space permissions of HR unreadable" in access.problems[0]


def test_dc_below_9_1_reads_space_permissions_with_json_rpc(dc, make_settings):
    dc.dc_version = "8.5.4"
    dc.space_perms["HR"].anonymous = True
    access = source(dc, make_settings).access("HR")
    assert access.grant.principals == {"u:dave", "g:staff"} and access.grant.anonymous
    assert any(r.startswith("POST ") and "json-rpc" in r for r in dc.requests)


# --- Cloud v2 space permissions, v1 as the fallback --------------------------------------------------
def hr_grant(cloud: FakeConfluence) -> set[str]:
    return {"u:" + cloud.users["dave"].account_id, "g:" + cloud.groups["staff"].id}


def test_cloud_v2_space_permissions_shapes_and_cursor_paging(cloud):
    cloud.v2_page_cap = 2
    cloud.v2_grants = "both"
    cloud.space_perms["HR"].anonymous = True
    with http(cloud) as client:
        space = client.get("/api/v2/spaces", params={"keys": "HR"}).json()["results"][0]
        rows, params = [], {"limit": 250}
        while True:
            response = client.get(f"/api/v2/spaces/{space['id']}/permissions", params=params)
            body = response.json()
            assert len(body["results"]) <= 2  # the server's cap
            rows += body["results"]
            if "next" not in body["_links"]:
                break
            assert body["_links"]["next"].startswith("/wiki/api/v2/") and 'rel="next"' in response.headers["Link"]
            params = {"cursor": httpx.URL(body["_links"]["next"]).params["cursor"], "limit": 250}
        read = [r["principal"] for r in rows if r["operation"] == {"key": "read", "targetType": "space"}]
        assert {"type": "group", "id": cloud.groups["staff"].id} in read
        assert {"type": "user", "id": cloud.users["dave"].account_id} in read
        assert {"type": "role", "id": "role-viewer"} in read and {"type": "role", "id": "role-guest"} in read
        guests = client.get(f"/api/v2/spaces/{space['id']}/role-assignments", params={"role-id": "role-guest"}).json()
        assert [a["principal"] for a in guests["results"]] == [
            {"principalType": "ACCESS_CLASS", "principalId": "anonymous-users"}
        ]
        cloud.v1_space_gone = True
        gone = client.get("/rest/api/space/HR", params={"expand": "permissions"})
        assert gone.status_code == 410 and "GoneException" in gone.json()["message"]


@pytest.mark.parametrize("grants", ["direct", "role", "both"])
def test_cloud_reader_takes_v2_grants_directly_or_through_roles(cloud, make_settings, grants):
    cloud.v2_grants = grants
    cloud.v2_page_cap = 1  # every row on its own page: the cursor is followed
    cloud.v1_space_gone = True  # v2 alone decides
    access = source(cloud, make_settings).access("HR")
    assert access.grant.principals == hr_grant(cloud) and not access.grant.anonymous
    assert any("/api/v2/spaces/" in r and "cursor=" in r for r in cloud.requests)
    assert not [r for r in cloud.requests if "expand=permissions" in r]
    # The role holding `export` only (assigned to all licensed users) is never resolved: it grants nothing.
    assert not [r for r in cloud.requests if "role-exporter" in r]


def test_cloud_reader_grants_anonymous_only_through_the_anonymous_access_class(cloud, make_settings):
    cloud.v1_space_gone = True
    cloud.space_perms["HR"].anonymous = True
    assert source(cloud, make_settings).access("HR").grant.anonymous


@pytest.mark.parametrize("status", [404, 410, 501])
def test_cloud_reader_falls_back_to_v1_when_v2_is_absent(cloud, make_settings, status):
    cloud.v2_status = status
    cloud.space_perms["HR"].anonymous = True
    access = source(cloud, make_settings, confluence_max_retries=0).access("HR")
    assert access.grant.principals == hr_grant(cloud) and access.grant.anonymous
    v2 = [i for i, r in enumerate(cloud.requests) if "/api/v2/spaces" in r]
    v1 = [i for i, r in enumerate(cloud.requests) if "/rest/api/space/HR?expand=permissions" in r]
    assert v2 and v1 and v2[0] < v1[0]  # v2 first, v1 only after its answer


@pytest.mark.parametrize("case", ["v2_forbidden", "v1_gone_too", "role_unreadable", "unknown_access_class"])
def test_cloud_reader_denies_when_unsure(cloud, make_settings, case):
    cloud.v2_grants = "role"
    if case == "v2_forbidden":  # not a missing endpoint: no fallback, the space grants nobody
        cloud.v2_status = 403
    elif case == "v1_gone_too":
        cloud.v2_status, cloud.v1_space_gone = 404, True
    elif case == "role_unreadable":
        cloud.fail_next(403, times=10, path_contains="role-id=role-viewer")
    else:  # the viewer role also assigned to every licensed user: no principal in the index stands for them
        cloud.v2_viewer_classes = ["all-licensed-users"]
    access = source(cloud, make_settings, confluence_max_retries=0).access("HR")
    assert [r for r in cloud.requests if "/api/v2/spaces" in r]
    if case in ("v2_forbidden", "v1_gone_too"):
        assert access.grant == NOBODY and "space permissions of HR unreadable" in access.problems[0]
        assert bool([r for r in cloud.requests if "expand=permissions" in r]) == (case == "v1_gone_too")
    elif case == "role_unreadable":
        assert access.grant.principals == set() and not access.grant.anonymous
        assert any("role 'role-viewer' of HR unreadable" in p for p in access.problems)
    else:
        assert access.grant.principals == hr_grant(cloud) and not access.grant.anonymous
        assert any("'all-licensed-users': it grants nothing" in p for p in access.problems)
