"""Case links: explicit links through the API, automatic links at intake and from the background job, dismissal."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from casework.links.models import CaseLink
from casework.links.service import auto_link
from tests.cases.conftest import make_id_number, petition_body
from tests.leads import OWNER, lead_body

CLERK = ("clerk", "360827")
INSPECTOR = ("inspector", OWNER)
VILLAGE = "360827100201"


class World:
    def __init__(self, client, make_user):
        self.client, self._make, self._headers = client, make_user, {}

    def h(self, who) -> dict:
        if who not in self._headers:
            self._headers[who] = self._make(role=who[0], unit=who[1])[1]
        return self._headers[who]

    def intake(self, body: dict, who=CLERK) -> dict:
        r = self.client.post("/api/v1/cases", json=body, headers=self.h(who))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def petition(self, seq: str = "123", region: str = "360827", **overrides) -> dict:
        person = {"name": "张三", "id_number": make_id_number(seq=seq, region=region), "phone": "13812345678"}
        return self.intake(petition_body(petitioner=person, region=region, **overrides), who=("clerk", region))

    def lead(self, **overrides) -> dict:
        return self.intake(lead_body(**overrides), who=INSPECTOR)

    def link(self, case, target, type_="related", who=CLERK, **extra):
        return self.client.post(f"/api/v1/cases/{case['id']}/links", json={"target": target["id"], "type": type_,
                                                                            **extra}, headers=self.h(who))

    def links(self, case, who=CLERK) -> dict:
        r = self.client.get(f"/api/v1/cases/{case['id']}/links", headers=self.h(who))
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def dismiss(self, case, link_id, who=INSPECTOR):
        return self.client.post(f"/api/v1/cases/{case['id']}/links/{link_id}/dismiss", headers=self.h(who))


@pytest.fixture()
def w(client, make_user):
    return World(client, make_user)


def shown(listing: dict) -> list[tuple]:
    return [(i["type"], i["case"]["id"], i["auto"], i["dismissed"]) for i in listing["items"]]


def test_an_explicit_link_is_seen_from_both_cases(w):
    a, b = w.petition("101"), w.petition("102", category="tekun")
    r = w.link(a, b, "same_subject", note="同一村低保问题")
    assert r.status_code == 201, r.get_json()
    assert shown(r.get_json()) == [("same_subject", b["id"], False, False)]
    assert shown(w.links(b)) == [("same_subject", a["id"], False, False)]
    assert w.links(b)["items"][0]["note"] == "同一村低保问题"
    # another type between the same two cases is a second link
    assert w.link(b, a, "related").status_code == 201
    assert [i["type"] for i in w.links(a)["items"]] == ["same_subject", "related"]


@pytest.mark.parametrize("target,type_,status,field", [
    ("self", "related", 422, "target"),
    ("other", "same_subject", 409, "target"),  # exists already, from the other side
    ("other", "friendship", 422, "type"),
    ("out_of_scope", "related", 422, "target"),  # a case in another county
    ("missing", "related", 422, "target"),
])
def test_refused_links(w, target, type_, status, field):
    a, b = w.petition("101"), w.petition("102", category="tekun")
    assert w.link(b, a, "same_subject").status_code == 201
    elsewhere = w.petition("103", region="360825")
    targets = {"self": a, "other": b, "out_of_scope": elsewhere, "missing": {"id": 999_999}}
    r = w.link(a, targets[target], type_)
    assert r.status_code == status, r.get_json()
    assert field in r.get_json()["errors"]
    assert len(w.links(a)["items"]) == 1


def test_a_case_out_of_scope_cannot_be_linked_or_read(w):
    a, elsewhere = w.petition("101"), w.petition("103", region="360825")
    assert w.link(elsewhere, a).status_code == 404
    assert w.client.get(f"/api/v1/cases/{elsewhere['id']}/links", headers=w.h(CLERK)).status_code == 404


def test_a_second_petition_of_the_same_person_is_linked_at_intake(w):
    first = w.petition("101")
    other_matter = w.petition("101", category="tekun")  # same person, another category: no repeat
    second = w.petition("101")
    assert shown(w.links(second)) == [("same_petitioner", first["id"], True, False)]
    assert second["possible_repeat_of"]["id"] == first["id"]
    assert shown(w.links(other_matter)) == []


def test_auto_links_of_leads_about_the_same_official(w, session):
    one = w.lead(accused={"name": "王某某", "unit": "360827", "position": "村主任"})
    two = w.lead(accused={"name": "王 某某", "unit": "360827"}, reporter=None)  # spacing does not matter
    namesake = w.lead(accused={"name": "王某某", "unit": "360825"})  # another county: another person
    assert auto_link(session=session, case_id=two["id"]) == 1
    assert auto_link(session=session, case_id=two["id"]) == 0  # idempotent
    session.commit()
    assert shown(w.links(one, INSPECTOR)) == [("same_accused", two["id"], True, False)]
    assert shown(w.links(namesake, INSPECTOR)) == []


def test_a_reporter_is_never_linked_to_their_own_petitions(w, session):
    """Leads carry no person index: the job must not tie a reporter to the petitions they filed."""
    person = {"name": "张三", "id_number": make_id_number(seq="101"), "phone": "13812345678"}
    petition = w.petition("101")
    lead = w.lead(reporter=person)
    assert auto_link(session=session, case_id=lead["id"]) == 0
    assert auto_link(session=session, case_id=petition["id"]) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(CaseLink)) == 0


def test_auto_links_of_cases_in_the_same_village(w, session):
    a = w.petition("101", village_code=VILLAGE)
    b = w.petition("102", category="tekun", village_code=VILLAGE)
    c = w.petition("104", category="elderly_care", village_code="360827100202")
    assert auto_link(session=session, case_id=b["id"]) == 1
    session.commit()
    assert shown(w.links(a)) == [("same_village", b["id"], True, False)]
    assert shown(w.links(c)) == []


def test_merge_records_a_duplicate_link(w):
    first, second = w.petition("101"), w.petition("101")
    r = w.client.post(f"/api/v1/cases/{second['id']}/actions/merge", headers=w.h(CLERK),
                      json={"version": second["version"], "into": first["id"]})
    assert r.status_code == 200, r.get_json()
    assert sorted(shown(w.links(second))) == [("duplicate", first["id"], True, False),
                                              ("same_petitioner", first["id"], True, False)]


def test_dismissing_links(w, session):
    one = w.lead()
    two = w.lead(reporter=None)
    auto_link(session=session, case_id=two["id"])
    session.commit()
    (auto,) = w.links(one, INSPECTOR)["items"]
    assert w.dismiss(one, auto["id"], who=("clerk", "360827")).status_code == 403  # an inspector's call
    r = w.dismiss(two, auto["id"])
    assert r.status_code == 200, r.get_json()
    assert shown(r.get_json()) == [("same_accused", one["id"], True, True)]  # kept, marked dismissed
    assert w.dismiss(two, auto["id"]).status_code == 200  # again: no change
    assert shown(w.links(one, INSPECTOR)) == [("same_accused", two["id"], True, True)]
    row = session.get(CaseLink, auto["id"])
    assert row.dismissed_at is not None and row.dismissed_by is not None
    explicit = w.link(one, two, "related", who=INSPECTOR).get_json()["items"][-1]
    r = w.dismiss(one, explicit["id"])
    assert r.status_code == 422 and "link" in r.get_json()["errors"]
    third = w.lead(accused={"name": "赵某某", "unit": "360827"})
    assert w.dismiss(third, auto["id"]).status_code == 404  # the link is not this case's
