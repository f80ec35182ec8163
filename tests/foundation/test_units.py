from __future__ import annotations

import pytest
import sqlalchemy as sa

from casework.units import service
from casework.units.loader import load_units
from casework.units.models import Unit


def _count(session, **where):
    stmt = sa.select(sa.func.count()).select_from(Unit).where(Unit.kind == "civil_affairs")
    for key, value in where.items():
        stmt = stmt.where(getattr(Unit, key) == value)
    return session.scalar(stmt)


@pytest.mark.parametrize("level,low,high", [("ministry", 1, 1), ("province", 34, 34), ("city", 320, 350),
                                           ("county", 2700, 2900)])
def test_counts_per_level(session, level, low, high):
    assert low <= _count(session, level=level) <= high


def test_every_civil_unit_has_a_discipline_twin(session):
    civil = _count(session)
    discipline = session.scalar(sa.select(sa.func.count()).select_from(Unit).where(Unit.kind == "discipline"))
    assert civil == discipline


def _chain(session, code):
    unit = service.get_unit(session=session, code=code)
    return [unit.code] + [u.code for u in service.ancestors(session=session, unit=unit)]


@pytest.mark.parametrize("code,chain", [
    ("110105", ["110105", "110100", "110000", "100000"]),  # 北京 朝阳区 under the municipality's city-level node
    ("429004", ["429004", "420000", "100000"]),  # 仙桃, county-level city directly under 湖北
    ("419001", ["419001", "410000", "100000"]),  # 济源
    ("441900", ["441900", "440000", "100000"]),  # 东莞, a prefecture-level city without counties
    ("360827", ["360827", "360800", "360000", "100000"]),  # 遂川县
    ("500101", ["500101", "500100", "500000", "100000"]),  # 重庆 万州区
])
def test_parent_chains(session, code, chain):
    assert _chain(session, code) == chain


def test_levels_of_irregular_units(session):
    assert service.get_unit(session=session, code="429004").level == "county"
    assert service.get_unit(session=session, code="110100").level == "city"
    assert service.children(session=session, code="441900") == []


@pytest.mark.parametrize("codes,lca", [
    (["360827", "360825"], "360800"),  # two counties of 吉安
    (["360827", "430502"], "100000"),  # 江西 and 湖南
    (["360827", "360800"], "360800"),  # a unit and its ancestor
    (["110105", "110101"], "110100"),
    (["429004", "420102"], "420000"),
])
def test_lowest_common_ancestor(session, codes, lca):
    assert service.lowest_common_ancestor(session=session, codes=codes).code == lca


def test_load_is_idempotent(session):
    before = session.scalar(sa.select(sa.func.count()).select_from(Unit))
    load_units(session=session)
    load_units(session=session)
    assert session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before


def test_units_api(client, make_user):
    _, headers = make_user()
    r = client.get("/api/v1/units/429004", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["level"] == "county" and [a["code"] for a in body["ancestors"]] == ["420000", "100000"]
    r = client.get("/api/v1/units?level=province&page_size=200", headers=headers)
    assert r.get_json()["total"] == 34
    r = client.get("/api/v1/units?parent=360800", headers=headers)
    assert all(u["parent"] == "360800" for u in r.get_json()["items"]) and r.get_json()["total"] >= 10
    assert client.get("/api/v1/units/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/units").status_code == 401
