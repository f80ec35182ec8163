"""Pure functions over materialised unit paths (no session, no Flask)."""
from __future__ import annotations


def path_of(parent_path: str | None, code: str) -> str:
    return f"{parent_path or ''}{code}/"


def codes_of(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def is_within(path: str, root_path: str) -> bool:
    """True when ``path`` is ``root_path`` or below it."""
    return path.startswith(root_path)


def common_ancestor_path(paths: list[str]) -> str:
    """The path of the deepest unit that is an ancestor-or-self of every path."""
    if not paths:
        raise ValueError("no paths given")
    split = [codes_of(p) for p in paths]
    common: list[str] = []
    for level in zip(*split):
        if all(c == level[0] for c in level):
            common.append(level[0])
        else:
            break
    if not common:
        raise ValueError("paths share no root")
    return "".join(f"{c}/" for c in common)
