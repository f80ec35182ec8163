"""Feeds the pure routing engine from the database and the app's validated rules."""
from __future__ import annotations

from flask import current_app

from casework.routing import RouteDecision, RouteRequest, RoutingError, RoutingRules, UnitInfo, load_rules, route
from casework.problem import Invalid
from casework.units.models import Unit


class SessionUnitLookup:
    """``UnitLookup`` over the units table, memoised for one routing call."""

    def __init__(self, session) -> None:
        self._session = session
        self._cache: dict[str, UnitInfo | None] = {}

    def get(self, code: str) -> UnitInfo | None:
        if code not in self._cache:
            unit = self._session.get(Unit, code)
            self._cache[code] = None if unit is None else UnitInfo(
                code=unit.code, level=unit.level, parent=unit.parent_code, path=unit.path, kind=unit.kind,
                name=unit.name)
        return self._cache[code]


def rules_for_app(app=None) -> RoutingRules:
    """The routing rules of the running app, loaded (and validated) once."""
    app = app or current_app
    rules = app.extensions.get("casework_routing_rules")
    if rules is None:
        rules = load_rules(app.config["ROUTING_RULES_FILE"])
        app.extensions["casework_routing_rules"] = rules
    return rules


def decide_route(*, session, request: RouteRequest) -> RouteDecision:
    """Route ``request``; an unroutable case is the caller's input error (422 naming region)."""
    try:
        return route(request, units=SessionUnitLookup(session), rules=rules_for_app())
    except RoutingError as exc:
        raise Invalid(str(exc), errors={"region": [str(exc)]}) from None
