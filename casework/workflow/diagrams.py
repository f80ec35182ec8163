"""Mermaid state diagrams generated from the workflow tables (docs/state-machines.md is their output)."""
from __future__ import annotations

from casework.workflow.engine import PRIOR, STAY, Workflow

HEADER = """# State machines

Generated from `casework/workflow/definitions.py` by `casework docs diagrams`; CI checks
that this file matches the code. Self-loops (督办, 延期, co-handling, evaluation) are
listed under each diagram rather than drawn.
"""


def mermaid(workflow: Workflow) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {workflow.initial}"]
    loops: list[str] = []
    for tr in workflow.transitions:
        for source in sorted(tr.sources):
            if tr.target == STAY:
                loops.append(f"{tr.action} ({', '.join(sorted(tr.sources))})")
                break
            target = "prior" if tr.target == PRIOR else tr.target
            roles = "/".join(sorted(tr.roles))
            lines.append(f"    {source} --> {target}: {tr.action} [{roles}]")
    for state in sorted(workflow.terminal):
        lines.append(f"    {state} --> [*]")
    body = "\n".join(lines)
    extra = "\n".join(f"- `{loop}`" for loop in dict.fromkeys(loops))
    clocks = ", ".join(f"{name} (owed by the {workflow.clock_owners[name]} unit)" if name in workflow.clock_owners
                       else name for name in sorted(workflow.clocks))
    return f"## {workflow.kind}\n\n```mermaid\n{body}\n```\n\nClocks: {clocks}.\n\nIn-place actions:\n\n{extra}\n"


def render_all() -> str:
    from casework.workflow.definitions import WORKFLOWS

    return HEADER + "\n" + "\n".join(mermaid(w) for w in WORKFLOWS.values())
