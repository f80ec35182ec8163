"""The routing rules file: its model, loading and validation.

The file is YAML (see ``config/routing.yaml``)::

    version: 1
    group_petition_threshold: 5      # people; >= 2
    discipline_kinds: [lead]         # kinds routed in the discipline (纪检监察) tree
    rules:                           # ordered
      - name: territorial            # unique; stored on the case as the route rule
        type: territorial            # one of RULE_TYPES
        when: {kinds: [...], categories: [...]}   # optional filter
        ...                          # parameters of the type

Rules come in two phases. *Selectors* choose the base unit; the first one that
applies wins, and the last selector must be an unconditional ``territorial``.
*Adjusters* then run in order on that choice; ``returned_up``, if present, must be
the last rule so nothing raises the unit back onto a unit that returned the case.
Every error names the rule (index and name) and the field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from casework.common.vocab import CATEGORIES, KINDS
from casework.units.models import LEVELS

# The case kinds and categories of the API contract (shared/API.md) are defined once, in vocab.
CASE_KINDS = KINDS

SELECTOR_TYPES = ("lead_official", "cross_region", "territorial")
ADJUSTER_TYPES = ("forward_down", "group_petition", "category_override", "returned_up")
RULE_TYPES = SELECTOR_TYPES + ADJUSTER_TYPES
OVERRIDE_ACTIONS = ("one_level_up", "at_least_level")
SUPPORTED_VERSIONS = (1,)
DEFAULT_GROUP_THRESHOLD = 5
DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "routing.yaml"

_TOP_KEYS = ("version", "group_petition_threshold", "discipline_kinds", "rules")
_WHEN_KEYS = {"kinds": CASE_KINDS, "categories": CATEGORIES}
# type -> its parameters: name -> (required, default)
_PARAMS: dict[str, dict[str, tuple[bool, Any]]] = {
    "territorial": {},
    "cross_region": {},
    "lead_official": {"levels_up": (False, 1)},
    "forward_down": {},
    "group_petition": {"levels_up": (False, 1)},
    "category_override": {"overrides": (True, None)},
    "returned_up": {},
}


class RoutingRulesError(ValueError):
    """The rules file is unreadable or invalid; the message names the rule and field."""


@dataclass(frozen=True)
class Override:
    category: str
    action: str
    level: str | None = None     # for at_least_level


@dataclass(frozen=True)
class Rule:
    name: str
    type: str
    kinds: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_selector(self) -> bool:
        return self.type in SELECTOR_TYPES

    @property
    def unconditional(self) -> bool:
        return self.kinds is None and self.categories is None

    def applies_to(self, kind: str, category: str) -> bool:
        return (self.kinds is None or kind in self.kinds) and (self.categories is None or category in self.categories)


@dataclass(frozen=True)
class RoutingRules:
    rules: tuple[Rule, ...]
    version: int = 1
    group_petition_threshold: int = DEFAULT_GROUP_THRESHOLD
    discipline_kinds: frozenset[str] = frozenset({"lead"})
    source: str = "<memory>"

    @property
    def selectors(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.is_selector)

    @property
    def adjusters(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if not r.is_selector)


def load_rules(path: str | Path = DEFAULT_RULES_FILE) -> RoutingRules:
    """Read and validate a rules file; raises RoutingRulesError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutingRulesError(f"{path}: cannot read routing rules: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise RoutingRulesError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(data, source=str(path))


def validate_rules_file(path: str | Path = DEFAULT_RULES_FILE) -> RoutingRules:
    """For start-up checks: the parsed rules, or RoutingRulesError naming what is wrong."""
    return load_rules(path)


def parse_rules(data: Any, *, source: str = "<memory>") -> RoutingRules:
    """Validate already-parsed YAML (a dict) into RoutingRules."""
    def fail(where: str, msg: str) -> RoutingRulesError:
        return RoutingRulesError(f"{source}: {where}: {msg}")

    if not isinstance(data, dict):
        raise fail("top level", "expected a mapping with 'version' and 'rules'")
    for key in data:
        if key not in _TOP_KEYS:
            raise fail(f"field '{key}'", f"unknown top-level field (expected one of {', '.join(_TOP_KEYS)})")
    if "version" not in data:
        raise fail("field 'version'", "missing")
    if data["version"] not in SUPPORTED_VERSIONS or isinstance(data["version"], bool):
        raise fail("field 'version'", f"unsupported version {data['version']!r} (supported: {SUPPORTED_VERSIONS})")
    threshold = data.get("group_petition_threshold", DEFAULT_GROUP_THRESHOLD)
    if not _is_int(threshold) or threshold < 2:
        raise fail("field 'group_petition_threshold'", f"must be an integer >= 2, got {threshold!r}")
    discipline_kinds = _names(data.get("discipline_kinds", ["lead"]), CASE_KINDS, "kind",
                              lambda m: fail("field 'discipline_kinds'", m))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise fail("field 'rules'", "missing or empty (expected a list of rules)")

    rules = [_parse_rule(index, raw, fail) for index, raw in enumerate(raw_rules, start=1)]
    names = [r.name for r in rules]
    for index, rule in enumerate(rules, start=1):
        where = f"rule #{index} '{rule.name}'"
        if names.index(rule.name) != index - 1:
            raise fail(f"{where}: field 'name'", "duplicate rule name")
        if rule.is_selector and any(not r.is_selector for r in rules[:index - 1]):
            raise fail(f"{where}: field 'type'", f"selector '{rule.type}' after an adjuster; selectors come first")
        if rule.type == "returned_up" and index != len(rules):
            raise fail(f"{where}: field 'type'", "returned_up must be the last rule")
    last_selector = [(i, r) for i, r in enumerate(rules, start=1) if r.is_selector][-1:]
    if not last_selector or last_selector[0][1].type != "territorial" or not last_selector[0][1].unconditional:
        where = f"rule #{last_selector[0][0]} '{last_selector[0][1].name}'" if last_selector else "field 'rules'"
        raise fail(where, "the last selector must be a 'territorial' rule without 'when' (the fallback)")
    return RoutingRules(rules=tuple(rules), version=data["version"], group_petition_threshold=threshold,
                        discipline_kinds=discipline_kinds, source=source)


def _parse_rule(index: int, raw: Any, fail) -> Rule:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"rule #{index}" + (f" '{name}'" if isinstance(name, str) and name else "")
    if not isinstance(raw, dict):
        raise fail(where, "expected a mapping with 'name' and 'type'")
    for key in ("name", "type"):
        if key not in raw:
            raise fail(f"{where}: field '{key}'", "missing")
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise fail(f"{where}: field '{key}'", f"must be a non-empty string, got {raw[key]!r}")
    rtype = raw["type"]
    if rtype not in RULE_TYPES:
        raise fail(f"{where}: field 'type'", f"unknown type '{rtype}' (expected one of {', '.join(RULE_TYPES)})")
    spec = _PARAMS[rtype]
    for key in raw:
        if key not in ("name", "type", "when") and key not in spec:
            allowed = ", ".join(["name", "type", "when", *spec])
            raise fail(f"{where}: field '{key}'", f"unknown field for type '{rtype}' (allowed: {allowed})")
    kinds = categories = None
    if "when" in raw:
        when = raw["when"]
        if not isinstance(when, dict) or not when:
            raise fail(f"{where}: field 'when'", "must be a mapping with 'kinds' and/or 'categories'")
        for key in when:
            if key not in _WHEN_KEYS:
                raise fail(f"{where}: field 'when.{key}'", "unknown condition (expected kinds or categories)")
        if "kinds" in when:
            kinds = _names(when["kinds"], CASE_KINDS, "kind", lambda m: fail(f"{where}: field 'when.kinds'", m))
        if "categories" in when:
            categories = _names(when["categories"], CATEGORIES, "category",
                                lambda m: fail(f"{where}: field 'when.categories'", m))
    params: dict[str, Any] = {}
    for key, (required, default) in spec.items():
        if key not in raw:
            if required:
                raise fail(f"{where}: field '{key}'", f"missing (required for type '{rtype}')")
            params[key] = default
        elif key == "levels_up":
            if not _is_int(raw[key]) or not 1 <= raw[key] <= 3:
                raise fail(f"{where}: field 'levels_up'", f"must be an integer from 1 to 3, got {raw[key]!r}")
            params[key] = raw[key]
        elif key == "overrides":
            params[key] = _overrides(raw[key], lambda f, m: fail(f"{where}: field '{f}'", m))
    return Rule(name=raw["name"].strip(), type=rtype, kinds=kinds, categories=categories,
                params=MappingProxyType(params))


def _overrides(raw: Any, fail) -> Mapping[str, Override]:
    if not isinstance(raw, list) or not raw:
        raise fail("overrides", "must be a non-empty list of {category, action}")
    out: dict[str, Override] = {}
    for i, item in enumerate(raw):
        here = f"overrides[{i}]"
        if not isinstance(item, dict):
            raise fail(here, "expected a mapping with 'category' and 'action'")
        for key in item:
            if key not in ("category", "action", "level"):
                raise fail(f"{here}.{key}", "unknown field (allowed: category, action, level)")
        for key in ("category", "action"):
            if key not in item:
                raise fail(f"{here}.{key}", "missing")
        category, action, level = item["category"], item["action"], item.get("level")
        if category not in CATEGORIES:
            raise fail(f"{here}.category", f"unknown category {category!r}")
        if category in out:
            raise fail(f"{here}.category", f"category '{category}' overridden twice")
        if action not in OVERRIDE_ACTIONS:
            raise fail(f"{here}.action", f"unknown action {action!r} (expected one of {', '.join(OVERRIDE_ACTIONS)})")
        if action == "at_least_level" and level not in LEVELS:
            raise fail(f"{here}.level", f"at_least_level needs a level, one of {', '.join(LEVELS)}; got {level!r}")
        if action != "at_least_level" and level is not None:
            raise fail(f"{here}.level", "only at_least_level takes a level")
        out[category] = Override(category, action, level)
    return MappingProxyType(out)


def _names(raw: Any, known: tuple[str, ...], what: str, fail) -> frozenset[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise fail(f"must be a non-empty list of {what} names")
    for value in raw:
        if value not in known:
            raise fail(f"unknown {what} {value!r} (expected one of {', '.join(known)})")
    return frozenset(raw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
