"""The SLA policy file: loaded once, validated at start-up with errors naming the entry."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

import yaml

from casework.sla.deadlines import UNITS, Policy

URGENCIES = ("urgent", "normal", "complex")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")


class PolicyFileError(ValueError):
    """The SLA policy file is invalid; the message names the entry and the field."""


@dataclass(frozen=True)
class ClockPolicy:
    policy: Policy
    window: bool = False


@dataclass(frozen=True)
class SlaPolicies:
    clocks: dict[tuple[str, str, str | None], ClockPolicy]  # (kind, clock, urgency or None)
    office_hours: tuple[tuple[time, time], ...]
    reescalate_after_workdays: int = 5
    default_reply_workdays: int = 5
    extension_clocks: frozenset[str] = field(default_factory=lambda: frozenset({"handling"}))
    extension_max_days: int = 30

    def for_clock(self, kind: str, clock: str, urgency: str | None = None) -> ClockPolicy:
        found = self.clocks.get((kind, clock, urgency)) or self.clocks.get((kind, clock, None))
        if found is None:
            raise KeyError(f"no SLA policy for {kind}.{clock} (urgency {urgency})")
        return found

    def names(self, kind: str) -> set[str]:
        return {c for (k, c, _u) in self.clocks if k == kind}

    @property
    def window_names(self) -> set[str]:
        return {c for (_k, c, _u), p in self.clocks.items() if p.window}


def parse_duration(text: str, where: str) -> timedelta:
    match = _DURATION.match(str(text).strip())
    if not match:
        raise PolicyFileError(f"{where}: '{text}' is not a duration like 3d, 12h or 30m")
    value, unit = float(match.group(1)), match.group(2)
    return {"d": timedelta(days=value), "h": timedelta(hours=value), "m": timedelta(minutes=value)}[unit]


def _policy(name: str, spec, where: str) -> ClockPolicy:
    if not isinstance(spec, dict):
        raise PolicyFileError(f"{where}: must be a mapping")
    unknown = set(spec) - {"duration", "unit", "warn_before", "window"}
    if unknown:
        raise PolicyFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("duration", "unit"):
        if required not in spec:
            raise PolicyFileError(f"{where}: field '{required}' is required")
    if spec["unit"] not in UNITS:
        raise PolicyFileError(f"{where}: field 'unit' must be one of {', '.join(sorted(UNITS))}")
    warn = parse_duration(spec["warn_before"], f"{where}.warn_before") if "warn_before" in spec else None
    try:
        policy = Policy(name=name, duration=spec["duration"], unit=spec["unit"], warn_before=warn)
    except ValueError as exc:
        raise PolicyFileError(f"{where}: {exc}") from None
    return ClockPolicy(policy=policy, window=bool(spec.get("window", False)))


def _time(text: str, where: str) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise PolicyFileError(f"{where}: '{text}' is not HH:MM") from None


def parse_policies(data: dict, source: str = "sla.yaml") -> SlaPolicies:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise PolicyFileError(f"{source}: field 'version' must be 1")
    clocks: dict[tuple[str, str, str | None], ClockPolicy] = {}
    for kind, entries in (data.get("policies") or {}).items():
        if not isinstance(entries, dict):
            raise PolicyFileError(f"{source}: policies.{kind} must be a mapping")
        for clock, spec in entries.items():
            where = f"{source}: policies.{kind}.{clock}"
            if isinstance(spec, dict) and "by_urgency" in spec:
                variants = spec["by_urgency"]
                missing = [u for u in URGENCIES if u not in (variants or {})]
                if missing or set(variants) - set(URGENCIES):
                    raise PolicyFileError(f"{where}.by_urgency: needs exactly {', '.join(URGENCIES)}")
                for urgency, sub in variants.items():
                    clocks[(kind, clock, urgency)] = _policy(f"{kind}.{clock}.{urgency}", sub,
                                                             f"{where}.by_urgency.{urgency}")
            else:
                clocks[(kind, clock, None)] = _policy(f"{kind}.{clock}", spec, where)
    office = tuple((_time(a, f"{source}: office_hours"), _time(b, f"{source}: office_hours"))
                   for a, b in (data.get("office_hours") or [["09:00", "12:00"], ["13:30", "17:30"]]))
    esc = data.get("escalation") or {}
    ext = data.get("extension") or {}
    reesc = esc.get("reescalate_after_working_days", 5)
    if not isinstance(reesc, int) or reesc < 1:
        raise PolicyFileError(f"{source}: escalation.reescalate_after_working_days must be a positive integer")
    return SlaPolicies(clocks=clocks, office_hours=office, reescalate_after_workdays=reesc,
                       default_reply_workdays=int(esc.get("default_reply_working_days", 5)),
                       extension_clocks=frozenset(ext.get("clocks", ["handling"])),
                       extension_max_days=int(ext.get("max_days", 30)))


def load_policies(path: str | Path) -> SlaPolicies:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyFileError(f"{path}: cannot read: {exc}") from None
    policies = parse_policies(data, source=path.name)
    check_against_workflows(policies, source=path.name)
    return policies


def check_against_workflows(policies: SlaPolicies, source: str = "sla.yaml") -> None:
    """Every clock a workflow starts has a policy, and every policy belongs to a workflow clock."""
    from casework.workflow.definitions import WORKFLOWS

    for kind, workflow in WORKFLOWS.items():
        declared = set(workflow.clocks)
        configured = policies.names(kind)
        if declared - configured:
            raise PolicyFileError(f"{source}: policies.{kind} lacks {', '.join(sorted(declared - configured))}")
        if configured - declared:
            raise PolicyFileError(f"{source}: policies.{kind}.{sorted(configured - declared)[0]} is not a clock of "
                                  f"the {kind} workflow")


def policies_for_app(app=None) -> SlaPolicies:
    from flask import current_app

    app = app or current_app
    policies = app.extensions.get("casework_sla_policies")
    if policies is None:
        policies = load_policies(app.config["SLA_POLICIES_FILE"])
        app.extensions["casework_sla_policies"] = policies
    return policies
