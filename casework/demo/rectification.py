"""Rectification items (整改) in the demo: a city's supervisor files findings against its counties.

A few per month, each with a deadline of 30 to 60 days. The county starts the
work, reports progress (the last report carries a small evidence file), and
submits for 销号 once it reaches 100%; the city verifies it or now and then
sends it back. Most finish before their deadline; a slow county misses it, and
the real sweep breaches the rectification clock and opens a 督办.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from casework.demo.world import COUNTIES
from casework.rectification.service import add_progress, create_item
from casework.units.tree import codes_of

# (category, finding, task, measures): the kind of thing a 巡视 or audit of county civil affairs finds.
FINDINGS = (
    ("dibao", "低保对象动态管理不规范，部分家庭收入已超标准仍在保", "完成低保对象全面复核",
     "逐户核查收入和财产状况，对不再符合条件的按程序停保，建立季度复核台账"),
    ("tekun", "特困人员供养金发放存在滞后，个别乡镇延迟两个月", "供养金按月足额发放",
     "理顺乡镇审核和县级拨付流程，补发欠发资金，实行发放情况月报"),
    ("elderly_care", "乡镇敬老院消防设施老化，安全管理台账缺失", "消除敬老院消防安全隐患",
     "更换消防器材，开展消防演练，建立日常巡查和隐患整改台账"),
    ("temporary_aid", "临时救助审批时限普遍超过规定", "临时救助审批提速",
     "下放小额临时救助审批权限至乡镇，推行急难型救助先行救助"),
    ("disability", "残疾人两项补贴底数不清，存在漏发重发", "两项补贴精准发放",
     "与残联数据比对，逐人核实，补发漏发、追回重发资金"),
    ("social_org", "社会组织年检把关不严，部分组织长期未开展活动", "清理僵尸社会组织",
     "开展年检专项检查，对长期不活动的社会组织依法撤销登记"),
    ("left_behind", "农村留守老年人关爱服务台账不实", "健全留守老人关爱服务体系",
     "开展入户走访摸排，落实定期探访制度，更新关爱服务台账"),
)
DEADLINE_DAYS = (30, 45, 60)
# The evidence attached to the report that reaches 100% (a PDF is recognised by its first bytes).
EVIDENCE = ("整改完成情况说明.pdf", "application/pdf", b"%PDF-1.4\n% demo evidence\n%%EOF\n")


def maybe_file_item(sim, now: datetime, today: date) -> None:
    """On a working day, about one chance in five that a city files a finding against one of its counties."""
    if today.weekday() >= 5 or sim.rng.random() >= 0.2:
        return
    county = sim.rng.choice(COUNTIES)
    category, finding, task, measures = sim.rng.choice(FINDINGS)
    data = {"source_text": f"市委巡察反馈：{finding}。", "finding_date": today, "task": task, "measures": measures,
            "deadline": today + timedelta(days=sim.rng.choice(DEADLINE_DAYS)),
            "responsible_person": "分管副局长", "responsible_unit": county, "category": category}
    case = create_item(session=sim.session, data=data, actor=sim.user(county[:4] + "00", "supervisor"), now=now)
    sim.stats.rectification_items += 1
    sim.plan(sim.saw(case), now, step=0)


def next_step(sim, case) -> tuple[str, str, dict] | None:
    """The county starts, reports progress and submits; the city verifies (or sends back one in ten)."""
    if case.status == "assigned":
        return "start", "clerk", {}
    if case.status == "in_progress":
        if case.progress >= 100:
            return "submit", "clerk", {"note": "整改任务已完成，申请销号"}
        return "progress", "clerk", {"percent": min(100, case.progress + sim.rng.choice((30, 40, 50)))}
    if case.status == "submitted":
        if sim.rng.random() < 0.1:
            return "send_back", "supervisor", {"reason": "佐证材料不充分，请补充后重新提交"}
        return "verify", "supervisor", {"note": "经现场核查，整改到位，同意销号"}
    return None


def acting_unit(case, action: str) -> str:
    """销号 and 退回 are the city's (the unit above the responsible county); everything else the county's."""
    return codes_of(case.unit_path)[-2] if action in ("verify", "send_back") else case.handling_unit


def report_progress(sim, case, actor, percent: int, now: datetime) -> None:
    files = [EVIDENCE] if percent >= 100 else []
    add_progress(session=sim.session, case_id=case.id, actor=actor, text=f"整改推进中，已完成{percent}%。",
                 report_date=sim.local_date(now), percent=percent, files=files, evidence_dir=sim.evidence_dir,
                 max_bytes=10 * 1024 * 1024, now=now)
