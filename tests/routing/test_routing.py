"""Routing: pure decisions over the real division table and the shipped rules file."""
from __future__ import annotations

import textwrap

import pytest
import yaml

from casework.routing import (
    CsvUnitLookup,
    RouteRequest,
    RoutingError,
    RoutingRulesError,
    load_rules,
    route,
    validate_rules_file,
)
from casework.routing.rules import DEFAULT_RULES_FILE, parse_rules


@pytest.fixture(scope="module")
def units():
    return CsvUnitLookup.from_csv()


@pytest.fixture(scope="module")
def rules():
    return validate_rules_file(DEFAULT_RULES_FILE)


def decide(units, rules, *regions, kind="petition", category="dibao", **kw):
    return route(RouteRequest(kind=kind, category=category, regions=tuple(regions), **kw), units=units, rules=rules)


# --- the lookup -------------------------------------------------------------------------------------------------

def test_lookup_mirrors_the_loader(units):
    county = units.get("360827")
    assert (county.level, county.parent, county.path, county.kind) == \
        ("county", "360800", "100000/360000/360800/360827/", "civil_affairs")
    assert units.get("429004").path == "100000/420000/429004/"
    assert units.get("D360800").path == "D100000/D360000/D360800/"
    assert units.get("D360800").kind == "discipline"
    assert units.get("999999") is None


# --- territorial ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["110105", "429004", "441900", "360827", "360800", "360000", "100000", "110100"])
def test_territorial_routes_to_the_region_at_its_own_level(units, rules, region):
    d = decide(units, rules, region)
    assert (d.unit, d.rule, d.co_handlers, d.forwarded_from) == (region, "territorial", (), None)
    assert region in d.reason


def test_reason_is_chinese_with_codes(units, rules):
    assert decide(units, rules, "360827").reason == "属地管理：遂川县(360827)为事发地县级单位"


def test_unknown_region_names_it(units, rules):
    with pytest.raises(RoutingError, match="999999"):
        decide(units, rules, "999999")
    with pytest.raises(RoutingError, match="D360827"):
        decide(units, rules, "D360827")  # a discipline unit is not a region


@pytest.mark.parametrize("kw,match", [(dict(kind="letter"), "kind"), (dict(category="tax"), "category"),
                                      (dict(people_count=0), "people_count"),
                                      (dict(registering_unit="888888"), "888888")])
def test_bad_requests(units, rules, kw, match):
    with pytest.raises(RoutingError, match=match):
        decide(units, rules, "360827", **kw)


def test_no_regions(units, rules):
    with pytest.raises(RoutingError, match="regions"):
        decide(units, rules)


# --- group petitions ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("region,people,unit,rule", [
    ("360827", 5, "360800", "group_petition"),
    ("360827", 4, "360827", "territorial"),
    ("429004", 5, "420000", "group_petition"),   # county-level city directly under 湖北
    ("110105", 6, "110100", "group_petition"),   # 北京 district → the municipality's city-level node
    ("441900", 5, "440000", "group_petition"),   # 东莞
    ("100000", 50, "100000", "territorial"),     # never above the ministry
])
def test_group_petition(units, rules, region, people, unit, rule):
    d = decide(units, rules, region, people_count=people)
    assert (d.unit, d.rule) == (unit, rule)


def test_group_size_only_counts_for_petitions(units, rules):
    assert decide(units, rules, "360827", kind="complaint", people_count=30).unit == "360827"


# --- 越级 forward down ---------------------------------------------------------------------------------------------

def test_petition_logged_at_the_ministry_is_forwarded_down(units, rules):
    d = decide(units, rules, "360827", registering_unit="100000")
    assert (d.unit, d.rule, d.forwarded_from) == ("360827", "forward_down", "100000")
    assert "越级" in d.reason


@pytest.mark.parametrize("registering", ["360000", "360800"])
def test_petition_logged_at_province_or_city_is_forwarded_down(units, rules, registering):
    d = decide(units, rules, "360827", registering_unit=registering)
    assert (d.unit, d.forwarded_from) == ("360827", registering)


def test_forwarded_group_petition_goes_one_level_above_the_county(units, rules):
    d = decide(units, rules, "360827", people_count=5, registering_unit="100000")
    assert (d.unit, d.rule, d.forwarded_from) == ("360800", "group_petition", "100000")


def test_group_petition_logged_at_the_city_stays_without_forwarding(units, rules):
    d = decide(units, rules, "360827", people_count=5, registering_unit="360800")
    assert (d.unit, d.rule, d.forwarded_from) == ("360800", "group_petition", None)


@pytest.mark.parametrize("registering", ["360827", "360825", "430000"])  # itself, a sibling, another province
def test_not_forwarded_when_not_logged_above(units, rules, registering):
    d = decide(units, rules, "360827", registering_unit=registering)
    assert (d.unit, d.rule, d.forwarded_from) == ("360827", "territorial", None)


def test_complaints_are_not_forwarded_by_default(units, rules):
    assert decide(units, rules, "360827", kind="complaint", registering_unit="100000").forwarded_from is None


# --- cross-region ------------------------------------------------------------------------------------------------

def test_two_counties_go_to_their_city(units, rules):
    d = decide(units, rules, "360827", "360825")
    assert (d.unit, d.rule, d.co_handlers) == ("360800", "cross_region", ("360827", "360825"))


def test_two_provinces_go_to_the_ministry(units, rules):
    d = decide(units, rules, "360827", "430502")
    assert (d.unit, d.rule, d.co_handlers) == ("100000", "cross_region", ("360827", "430502"))


def test_cross_region_excludes_the_ancestor_itself_and_duplicates(units, rules):
    d = decide(units, rules, "360827", "360800", "360827")
    assert (d.unit, d.co_handlers) == ("360800", ("360827",))


def test_repeated_region_is_not_cross_region(units, rules):
    assert decide(units, rules, "360827", "360827").rule == "territorial"


def test_cross_region_under_a_municipality_and_a_county_level_city(units, rules):
    assert decide(units, rules, "110105", "110108").unit == "110100"
    assert decide(units, rules, "429004", "429005").unit == "420000"


# --- category override -------------------------------------------------------------------------------------------

def test_place_names_single_region_goes_one_level_up(units, rules):
    d = decide(units, rules, "360827", category="place_names")
    assert (d.unit, d.rule) == ("360800", "category_override")
    assert decide(units, rules, "429004", category="place_names").unit == "420000"


def test_place_names_two_counties_use_their_common_ancestor(units, rules):
    d = decide(units, rules, "360827", "360825", category="place_names")
    assert (d.unit, d.rule, d.co_handlers) == ("360800", "cross_region", ("360827", "360825"))


def test_place_names_city_and_its_county_go_above_the_city(units, rules):
    d = decide(units, rules, "360800", "360827", category="place_names")
    assert (d.unit, d.rule, d.co_handlers) == ("360000", "category_override", ("360800", "360827"))


def test_place_names_group_petition_does_not_compound(units, rules):
    assert decide(units, rules, "360827", category="place_names", people_count=9).unit == "360800"


# --- leads -------------------------------------------------------------------------------------------------------

def test_lead_about_an_official_goes_to_the_discipline_unit_one_level_up(units, rules):
    d = decide(units, rules, "360827", kind="lead", accused_unit="360827")
    assert (d.unit, d.rule) == ("D360800", "lead_official")
    assert "D360800" in d.reason


@pytest.mark.parametrize("accused,unit", [("D360827", "D360800"), ("429004", "D420000"), ("100000", "D100000")])
def test_lead_official_edge_units(units, rules, accused, unit):
    assert decide(units, rules, "360827", kind="lead", accused_unit=accused).unit == unit


def test_lead_without_an_accused_goes_to_the_regions_discipline_unit(units, rules):
    d = decide(units, rules, "360827", kind="lead")
    assert (d.unit, d.rule) == ("D360827", "territorial")
    d = decide(units, rules, "360827", "360825", kind="lead")
    assert (d.unit, d.co_handlers) == ("D360800", ("D360827", "D360825"))


def test_lead_with_unknown_accused_unit(units, rules):
    with pytest.raises(RoutingError, match="777777"):
        decide(units, rules, "360827", kind="lead", accused_unit="777777")


# --- returned cases ----------------------------------------------------------------------------------------------

def test_returned_case_goes_one_level_up(units, rules):
    d = decide(units, rules, "360827", exclude_units=("360827",))
    assert (d.unit, d.rule) == ("360800", "returned_up")
    assert decide(units, rules, "360827", exclude_units=("360827", "360800")).unit == "360000"


def test_returned_group_petition_does_not_bounce_back(units, rules):
    d = decide(units, rules, "360827", people_count=5, exclude_units=("360800",))
    assert (d.unit, d.rule) == ("360000", "returned_up")


def test_returned_lead_moves_up_the_discipline_tree(units, rules):
    d = decide(units, rules, "360827", kind="lead", accused_unit="360827", exclude_units=("D360800",))
    assert (d.unit, d.rule) == ("D360000", "returned_up")


def test_the_ministry_cannot_return_further(units, rules):
    d = decide(units, rules, "100000", exclude_units=("100000",))
    assert d.unit == "100000"


def test_returned_forwarded_petition_keeps_forwarded_from_while_still_above(units, rules):
    d = decide(units, rules, "360827", registering_unit="100000", exclude_units=("360827",))
    assert (d.unit, d.rule, d.forwarded_from) == ("360800", "returned_up", "100000")


# --- rules data --------------------------------------------------------------------------------------------------

def _rules(text: str):
    return parse_rules(yaml.safe_load(textwrap.dedent(text)))


BASE = """
version: 1
rules:
  - {name: territorial, type: territorial}
"""


def test_threshold_and_overrides_come_from_the_file(units):
    custom = _rules("""
        version: 1
        group_petition_threshold: 3
        rules:
          - {name: territorial, type: territorial}
          - {name: group_petition, type: group_petition, when: {kinds: [petition]}, levels_up: 2}
          - name: charity_to_province
            type: category_override
            overrides: [{category: charity, action: at_least_level, level: province}]
        """)
    assert decide(units, custom, "360827", people_count=3).unit == "360000"
    assert decide(units, custom, "360827", people_count=2).unit == "360827"
    d = decide(units, custom, "360827", category="charity", kind="complaint")
    assert (d.unit, d.rule) == ("360000", "charity_to_province")
    assert decide(units, custom, "429004", category="charity").unit == "420000"
    assert decide(units, custom, "360827", registering_unit="100000").forwarded_from is None  # no forward_down rule


def test_minimal_file_defaults(units):
    minimal = _rules(BASE)
    assert minimal.group_petition_threshold == 5 and minimal.discipline_kinds == {"lead"}
    assert decide(units, minimal, "360827", "360825").unit == "360827"  # no cross_region rule: primary region
    assert decide(units, minimal, "360827", "360825").co_handlers == ("360825",)


def _head(threshold="5"):
    return f"version: 1\ngroup_petition_threshold: {threshold}\nrules:\n"


@pytest.mark.parametrize("text,needles", [
    (_head() + "  - {name: a, type: teleport}\n", ["rule #1 'a'", "field 'type'", "teleport"]),
    (_head() + "  - {type: territorial}\n", ["rule #1", "field 'name'", "missing"]),
    (_head() + "  - {name: a}\n", ["rule #1 'a'", "field 'type'", "missing"]),
    (_head("1") + "  - {name: t, type: territorial}\n", ["group_petition_threshold", "1"]),
    (_head("'5'") + "  - {name: t, type: territorial}\n", ["group_petition_threshold"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: g, type: group_petition, when: {kinds: [visit]}}\n",
     ["rule #2 'g'", "field 'when.kinds'", "visit"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: c, type: forward_down, when: {categories: [tax]}}\n",
     ["rule #2 'c'", "field 'when.categories'", "tax"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: c, type: forward_down, when: {region: [x]}}\n",
     ["rule #2 'c'", "field 'when.region'"]),
    (_head() + "  - {name: t, type: territorial, threshold: 3}\n", ["rule #1 't'", "field 'threshold'"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: t, type: forward_down}\n",
     ["rule #2 't'", "field 'name'", "duplicate"]),
    (_head() + "  - {name: x, type: cross_region}\n", ["rule #1 'x'", "territorial"]),
    (_head() + "  - {name: t, type: territorial, when: {kinds: [lead]}}\n", ["rule #1 't'", "when"]),
    (_head() + "  - {name: f, type: forward_down}\n  - {name: t, type: territorial}\n",
     ["rule #2 't'", "field 'type'", "selector"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: r, type: returned_up}\n  - {name: f, type: forward_down}\n",
     ["rule #2 'r'", "field 'type'", "last"]),
    (_head() + "  - {name: t, type: territorial}\n  - {name: o, type: category_override}\n",
     ["rule #2 'o'", "field 'overrides'", "missing"]),
    (_head() + "  - {name: t, type: territorial}\n"
     "  - {name: o, type: category_override, overrides: [{category: place_names, action: sideways}]}\n",
     ["rule #2 'o'", "overrides[0].action", "sideways"]),
    (_head() + "  - {name: t, type: territorial}\n"
     "  - {name: o, type: category_override, overrides: [{category: roads, action: one_level_up}]}\n",
     ["rule #2 'o'", "overrides[0].category", "roads"]),
    (_head() + "  - {name: t, type: territorial}\n"
     "  - {name: o, type: category_override, overrides: [{category: charity, action: at_least_level}]}\n",
     ["rule #2 'o'", "overrides[0].level"]),
    (_head() + "  - {name: l, type: lead_official, levels_up: 0}\n  - {name: t, type: territorial}\n",
     ["rule #1 'l'", "field 'levels_up'"]),
    ("rules:\n  - {name: t, type: territorial}\n", ["field 'version'", "missing"]),
    ("version: 2\nrules:\n  - {name: t, type: territorial}\n", ["field 'version'", "2"]),
    ("version: 1\nrules: []\n", ["field 'rules'"]),
    ("version: 1\nthreshold: 5\nrules:\n  - {name: t, type: territorial}\n", ["field 'threshold'"]),
    ("version: 1\ndiscipline_kinds: [leads]\nrules:\n  - {name: t, type: territorial}\n",
     ["field 'discipline_kinds'", "leads"]),
    ("- just a list\n", ["top level"]),
    ("version: 1\nrules: [\n", ["not valid YAML"]),
])
def test_bad_rules_files_name_the_rule_and_field(tmp_path, text, needles):
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutingRulesError) as info:
        validate_rules_file(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_missing_rules_file(tmp_path):
    with pytest.raises(RoutingRulesError, match="cannot read"):
        load_rules(tmp_path / "nope.yaml")


def test_rules_error_is_a_value_error():
    assert issubclass(RoutingRulesError, ValueError) and issubclass(RoutingError, ValueError)


def test_shipped_rules_file(rules):
    assert [r.name for r in rules.rules] == ["lead_official", "cross_region", "territorial", "forward_down",
                                             "group_petition", "category_override", "returned_up"]
    assert rules.group_petition_threshold == 5
