"""The bulletin settings file (config/bulletins.yaml), validated at load."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from config.settings import CONFIG_DIR

WEIGHT_NAMES = ("on_time_acceptance", "on_time_closure", "satisfaction", "returns", "overdue")
LEVELS = ("ministry", "province", "city", "county")


class BulletinConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BulletinConfig:
    weights: dict[str, float]
    top: int = 5
    scheduled_levels: tuple[str, ...] = ("ministry", "province", "city")
    history_periods: int = 12
    list_limit: int = 200


def load_config(path: str | Path = CONFIG_DIR / "bulletins.yaml") -> BulletinConfig:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    where = Path(path).name
    weights = (data.get("ranking") or {}).get("weights") or {}
    unknown = set(weights) - set(WEIGHT_NAMES)
    if unknown:
        raise BulletinConfigError(f"{where}: ranking.weights has unknown names {sorted(unknown)}")
    missing = set(WEIGHT_NAMES) - set(weights)
    if missing:
        raise BulletinConfigError(f"{where}: ranking.weights lacks {sorted(missing)}")
    if any(not isinstance(v, (int, float)) or v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise BulletinConfigError(f"{where}: ranking.weights must be non-negative numbers with a positive sum")
    levels = tuple(data.get("scheduled_levels") or ("ministry", "province", "city"))
    if set(levels) - set(LEVELS):
        raise BulletinConfigError(f"{where}: scheduled_levels must be among {LEVELS}")
    return BulletinConfig(weights={k: float(v) for k, v in weights.items()},
                          top=int((data.get("ranking") or {}).get("top", 5)), scheduled_levels=levels,
                          history_periods=int(data.get("history_periods", 12)),
                          list_limit=int(data.get("list_limit", 200)))
