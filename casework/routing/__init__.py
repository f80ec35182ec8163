"""Case routing: which unit handles a case (属地管理、分级负责; 谁主管、谁负责).

``rules`` loads and validates the editable rules file (``config/routing.yaml``);
``engine.route`` is a pure function of the case, the unit tree (through a
``UnitLookup``) and those rules. It returns the handling unit, the rule that
chose it and a reason to store on the case. No Flask, no session.
"""
from casework.routing.engine import (
    CsvUnitLookup,
    DictUnitLookup,
    RouteDecision,
    RouteRequest,
    RoutingError,
    UnitInfo,
    UnitLookup,
    route,
)
from casework.routing.rules import RoutingRules, RoutingRulesError, load_rules, validate_rules_file

__all__ = ["CsvUnitLookup", "DictUnitLookup", "RouteDecision", "RouteRequest", "RoutingError", "RoutingRules",
           "RoutingRulesError", "UnitInfo", "UnitLookup", "load_rules", "route", "validate_rules_file"]
