"""Lead (问题线索) tests, and the small helpers the link tests share with them."""
from __future__ import annotations

OWNER = "D360800"  # a lead about an official of 遂川县 (360827) goes to the city's discipline unit


def lead_body(**overrides) -> dict:
    """A real-name lead about an official of 360827; pass ``reporter=None`` for an anonymous one."""
    body = {
        "kind": "lead", "channel": "letter", "category": "dibao", "title": "反映村干部优亲厚友",
        "content": "某村主任将不符合条件的亲属纳入低保。", "region": "360827", "source": "public_report",
        "accused": {"name": "王某某", "unit": "360827", "position": "村主任"},
        "reporter": {"name": "赵某", "phone": "13700001111"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
