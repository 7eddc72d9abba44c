"""Finding instances over the API (``GET /api/v1/search``): the console's search as JSON, with its
total, filters and sorts; problem+json for a value outside the choices; a stakeholder finds only its
own entity."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_api import PROBLEM, api, as_, runtime, tokens  # noqa: F401 (fixtures)


def test_every_spelling_finds_vegepolys_with_the_total(api: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    for typed in ("vege", "Végépolys", "VEGEPOLYS"):
        found = api.get("/api/v1/search", params={"q": typed}, headers=as_(tokens["paul"])).json()
        assert [i["entity"] for i in found["items"]] == ["vegepolys"] and found["total"] == 1


def test_nothing_found_is_an_empty_page_and_a_bad_sort_a_problem(api: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    nothing = api.get("/api/v1/search", params={"q": "zzz-aucun"}, headers=as_(tokens["paul"]))
    assert nothing.status_code == 200 and nothing.json()["items"] == [] and nothing.json()["total"] == 0
    bad = api.get("/api/v1/search", params={"sort": "colour"}, headers=as_(tokens["paul"]))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    unknown = api.get("/api/v1/search", params={"state": "nowhere"}, headers=as_(tokens["paul"]))
    assert unknown.status_code == 404 and "nowhere" in unknown.json()["detail"]


def test_pages_by_offset_cover_every_instance_once(api: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    seen: list[str] = []
    offset, total = 0, None
    while total is None or offset < total:
        page = api.get("/api/v1/search", params={"offset": offset, "limit": 20}, headers=as_(tokens["paul"])).json()
        total = page["total"]
        seen += [i["entity"] for i in page["items"]]
        offset += 20
    assert len(seen) == total == len(set(seen))


def test_a_stakeholder_finds_only_its_own_entity(api: TestClient, tokens: dict[str, str]) -> None:  # noqa: F811
    mine = api.get("/api/v1/search", params={"q": "enf"}, headers=as_(tokens["gouv-enfant"])).json()
    assert [i["entity"] for i in mine["items"]] == ["enfant"] and mine["total"] == 1
    other = api.get("/api/v1/search", params={"q": "vege"}, headers=as_(tokens["gouv-enfant"])).json()
    assert other == {"items": [], "total": 0, "offset": 0, "limit": 50}
