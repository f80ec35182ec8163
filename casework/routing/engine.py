"""The routing decision as a pure function of the case, the unit tree and the rules.

Selectors pick a base unit in the civil-affairs tree (division codes); adjusters
raise it or annotate it; kinds listed in ``discipline_kinds`` (leads) end in the
discipline mirror (``"D" + division code``). No Flask, no session: units come
through a ``UnitLookup``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from casework.routing.rules import CASE_KINDS, CATEGORIES, Rule, RoutingRules
from casework.units.models import DISCIPLINE_PREFIX, LEVELS
from casework.units.tree import codes_of, common_ancestor_path

LEVEL_NAMES = {"ministry": "部级", "province": "省级", "city": "市级", "county": "县级"}


class RoutingError(ValueError):
    """The case cannot be routed (unknown region or unit, bad request)."""


@dataclass(frozen=True)
class UnitInfo:
    code: str
    level: str
    parent: str | None
    path: str
    kind: str = "civil_affairs"
    name: str = ""


class UnitLookup(Protocol):
    def get(self, code: str) -> UnitInfo | None: ...


class DictUnitLookup:
    """An in-memory lookup over UnitInfo objects (both trees)."""

    def __init__(self, units: dict[str, UnitInfo]):
        self._units = dict(units)

    def get(self, code: str) -> UnitInfo | None:
        return self._units.get(code)


class CsvUnitLookup(DictUnitLookup):
    @classmethod
    def from_csv(cls, path: str | Path | None = None) -> CsvUnitLookup:
        """Both trees from the division table, with paths as the loader derives them."""
        from casework.units.loader import DATA_FILE, read_divisions, unit_rows
        rows = unit_rows(read_divisions(Path(path) if path else DATA_FILE))
        return cls({r["code"]: UnitInfo(code=r["code"], level=r["level"], parent=r["parent_code"], path=r["path"],
                                        kind=r["kind"], name=r["name"]) for r in rows})


@dataclass(frozen=True)
class RouteRequest:
    kind: str
    category: str
    regions: tuple[str, ...]
    people_count: int = 1
    registering_unit: str | None = None
    accused_unit: str | None = None
    exclude_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteDecision:
    unit: str
    rule: str
    reason: str
    co_handlers: tuple[str, ...] = ()
    forwarded_from: str | None = None


@dataclass
class _State:
    unit: UnitInfo                  # always a civil-affairs unit; mapped to discipline at the end
    anchors: list[UnitInfo]         # the named units "one level up" is measured from
    discipline: bool
    rule: str
    reasons: list[str]
    co_handlers: list[UnitInfo] = field(default_factory=list)
    forwarded_from: str | None = None


def route(request: RouteRequest, *, units: UnitLookup, rules: RoutingRules) -> RouteDecision:
    """Choose the handling unit for ``request``; raises RoutingError when it cannot."""
    _check(request)
    regions = _dedupe([_civil(units, code, "region") for code in request.regions])
    ctx = _Ctx(request, units, rules)
    state = None
    for rule in rules.selectors:
        if rule.applies_to(request.kind, request.category):
            state = ctx.select(rule, regions)
            if state is not None:
                break
    if state is None:  # unreachable with validated rules (the last selector is unconditional)
        raise RoutingError("no routing rule applies")
    for rule in rules.adjusters:
        if rule.applies_to(request.kind, request.category):
            ctx.adjust(rule, state)
    if state.forwarded_from and not _strictly_above(ctx.info(state.forwarded_from), state.unit):
        state.reasons.append(f"登记单位({state.forwarded_from})即承办层级，不再转送")
        state.forwarded_from = None
    final = ctx.code(state.unit, state.discipline)
    co = _dedupe([u for u in state.co_handlers if u.code != state.unit.code])
    return RouteDecision(unit=final, rule=state.rule, reason="；".join(state.reasons),
                         co_handlers=tuple(ctx.code(u, state.discipline) for u in co),
                         forwarded_from=state.forwarded_from)


class _Ctx:
    def __init__(self, request: RouteRequest, units: UnitLookup, rules: RoutingRules):
        self.req, self.units, self.rules = request, units, rules

    def info(self, code: str) -> UnitInfo:
        return _lookup(self.units, code, "unit")

    def code(self, unit: UnitInfo, discipline: bool) -> str:
        code = DISCIPLINE_PREFIX + unit.code if discipline else unit.code
        _lookup(self.units, code, "unit")
        return code

    def label(self, unit: UnitInfo, discipline: bool | None = None) -> str:
        d = self.req.kind in self.rules.discipline_kinds if discipline is None else discipline
        shown = self.units.get(DISCIPLINE_PREFIX + unit.code) if d else unit
        return f"{(shown or unit).name or unit.code}({(shown or unit).code})"

    def select(self, rule: Rule, regions: list[UnitInfo]) -> _State | None:
        disc = self.req.kind in self.rules.discipline_kinds
        if rule.type == "lead_official":
            if not self.req.accused_unit:
                return None
            accused = self.info(self.req.accused_unit)
            official = _civil(self.units, accused.code[len(DISCIPLINE_PREFIX):], "unit") \
                if accused.kind == "discipline" else accused
            target = self.up(official, rule.params["levels_up"])
            how = "上一级" if target.code != official.code else "本级（已至部级）"
            return _State(target, [official], True, rule.name,
                          [f"问题线索涉及{official.name}({official.code})公职人员，由{how}纪检监察机构"
                           f"{self.label(target, True)}办理"])
        if rule.type == "cross_region":
            if len(regions) < 2:
                return None
            lca = self.info(codes_of(common_ancestor_path([r.path for r in regions]))[-1])
            names = "、".join(f"{r.name}({r.code})" for r in regions)
            return _State(lca, list(regions), disc, rule.name,
                          [f"跨区域：涉及{names}，由共同上级{self.label(lca, disc)}牵头协调"],
                          co_handlers=list(regions))
        primary = regions[0]  # territorial
        return _State(primary, [primary], disc, rule.name,
                      [f"属地管理：{self.label(primary, disc)}为事发地{LEVEL_NAMES[primary.level]}单位"],
                      co_handlers=list(regions[1:]))

    def adjust(self, rule: Rule, st: _State) -> None:
        req = self.req
        if rule.type == "forward_down":
            if req.registering_unit:
                reg = self.info(req.registering_unit)
                if _strictly_above(reg, st.unit):
                    st.forwarded_from, st.rule = reg.code, rule.name
                    st.reasons.append(f"越级：{reg.name}({reg.code})登记，转送{self.label(st.unit, st.discipline)}办理")
        elif rule.type == "group_petition":
            if req.people_count >= self.rules.group_petition_threshold:
                n = rule.params["levels_up"]
                self.raise_to(st, rule, [self.up(a, n) for a in st.anchors],
                              f"集体访（{req.people_count}人，阈值{self.rules.group_petition_threshold}）")
        elif rule.type == "category_override":
            ov = rule.params["overrides"].get(req.category)
            if ov is not None:
                targets = [self.up(a, 1) if ov.action == "one_level_up" else self.at_least(a, ov.level)
                           for a in st.anchors]
                self.raise_to(st, rule, targets, f"类别{req.category}按规定由上一级办理" if ov.action == "one_level_up"
                              else f"类别{req.category}按规定至少由{LEVEL_NAMES[ov.level]}单位办理")
        elif rule.type == "returned_up":
            excluded = set(req.exclude_units)
            while self.code(st.unit, st.discipline) in excluded:
                if st.unit.parent is None:
                    st.reasons.append(f"{self.label(st.unit, st.discipline)}已退回，但已是最高层级，仍由其办理")
                    break
                back, st.unit, st.rule = st.unit, self.info(st.unit.parent), rule.name
                st.reasons.append(f"{self.label(back, st.discipline)}已退回，改由上一级"
                                  f"{self.label(st.unit, st.discipline)}办理")

    def raise_to(self, st: _State, rule: Rule, targets: list[UnitInfo], why: str) -> None:
        target = self.info(codes_of(common_ancestor_path([t.path for t in targets]))[-1])
        if _strictly_above(target, st.unit):
            st.unit, st.rule = target, rule.name
            st.reasons.append(f"{why}，由{self.label(target, st.discipline)}办理")
        else:
            st.reasons.append(f"{why}，{self.label(st.unit, st.discipline)}已满足")

    def up(self, unit: UnitInfo, levels: int) -> UnitInfo:
        for _ in range(levels):
            if unit.parent is None:
                break
            unit = self.info(unit.parent)
        return unit

    def at_least(self, unit: UnitInfo, level: str) -> UnitInfo:
        while LEVELS.index(unit.level) > LEVELS.index(level) and unit.parent is not None:
            unit = self.info(unit.parent)
        return unit


def _check(req: RouteRequest) -> None:
    if req.kind not in CASE_KINDS:
        raise RoutingError(f"unknown case kind {req.kind!r}")
    if req.category not in CATEGORIES:
        raise RoutingError(f"unknown category {req.category!r}")
    if isinstance(req.regions, str) or not req.regions:
        raise RoutingError("regions must be a non-empty tuple of division codes")
    if req.people_count < 1:
        raise RoutingError(f"people_count must be at least 1, got {req.people_count}")


def _lookup(units: UnitLookup, code: str, what: str) -> UnitInfo:
    info = units.get(code)
    if info is None:
        raise RoutingError(f"unknown {what} {code!r}" + ("（未知行政区划）" if what == "region" else ""))
    return info


def _civil(units: UnitLookup, code: str, what: str) -> UnitInfo:
    info = _lookup(units, code, what)
    if info.kind != "civil_affairs":
        raise RoutingError(f"{what} {code!r} is a {info.kind} unit, not a division")
    return info


def _division_path(unit: UnitInfo) -> str:
    if unit.kind != "discipline":
        return unit.path
    return "".join(f"{c[len(DISCIPLINE_PREFIX):]}/" for c in codes_of(unit.path))


def _strictly_above(upper: UnitInfo, lower: UnitInfo) -> bool:
    up, low = _division_path(upper), _division_path(lower)
    return low.startswith(up) and low != up


def _dedupe(units: list[UnitInfo]) -> list[UnitInfo]:
    seen: set[str] = set()
    return [u for u in units if not (u.code in seen or seen.add(u.code))]
