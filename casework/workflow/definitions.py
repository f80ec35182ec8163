"""The state machines of petitions (信访件, after the 信访工作条例) and complaints (hotline style)."""
from __future__ import annotations

from casework.workflow.engine import (ANCESTOR, CO_HANDLER, DISPATCHER, GRANDPARENT, HANDLER, PARENT, PRIOR, STAY,
                                      Workflow, t)

STAFF = ("clerk", "supervisor")
SUPERVISOR = ("supervisor",)
OPEN_PETITION = ("registered", "assigned", "accepted", "in_progress")
# States in which a unit still owes an answer, so 督办 and its reply make sense.
SUPERVISABLE_PETITION = ("assigned", "accepted", "in_progress", "suspended", "under_review", "under_re_review")
SUPERVISABLE_COMPLAINT = ("assigned", "contacted", "handled")


def supervision_transitions(states: tuple[str, ...], extendable: tuple[str, ...]) -> tuple:
    """督办 and 延期, the same for every kind that has a handling clock."""
    supervision = (
        t("supervise", states, STAY, roles=SUPERVISOR, by=(ANCESTOR,), description="督办 with a reply deadline"),
        # From the unit that owes the answer: the handling unit, or the one deciding a review (see
        # Workflow.answering_levels and the actor check in casework/sla/handlers.py); a co-handler answers
        # the 督办 of its own late part.
        t("reply_supervision", states, STAY, roles=STAFF, by=(HANDLER, PARENT, GRANDPARENT, CO_HANDLER),
          description="督办回复"),
    )
    if not extendable:
        return supervision
    return supervision + (
        t("request_extension", extendable, STAY, roles=STAFF, by=(HANDLER,), description="申请延期"),
        t("approve_extension", extendable, STAY, roles=SUPERVISOR, by=(PARENT,), description="批准延期"),
        t("deny_extension", extendable, STAY, roles=SUPERVISOR, by=(PARENT,), description="不予延期"),
    )

PETITION = Workflow(
    kind="petition",
    states=("registered", "assigned", "accepted", "not_accepted", "in_progress", "suspended", "responded",
            "under_review", "reviewed", "under_re_review", "closed", "merged"),
    initial="registered",
    terminal=frozenset({"not_accepted", "closed", "merged"}),
    clocks=frozenset({"acceptance", "handling", "review_window", "review", "re_review_window", "re_review",
                      "co_handling"}),
    # 复查 is decided one level up and 复核 two (信访工作条例 第三十五、三十六条): their clocks are those units'.
    clock_owners={"review": PARENT, "re_review": GRANDPARENT},
    # Each co-handler (协办单位) owes its part by a deadline of its own.
    part_clocks=frozenset({"co_handling"}),
    transitions=(
        t("assign", "registered", "assigned", roles=STAFF, by=(DISPATCHER,), description="交办: hand to a unit"),
        t("accept", "assigned", "accepted", roles=STAFF, by=(HANDLER,), stops=("acceptance",),
          starts=("handling", "co_handling"), description="受理"),
        t("decline", "assigned", "not_accepted", roles=STAFF, by=(HANDLER,), stops=("acceptance",),
          description="不予受理, with reason; the petitioner is notified"),
        t("return", "assigned", "registered", roles=STAFF, by=(HANDLER,),
          stops=("co_handling",), description="退回: not ours, back to routing (within 5 working days of assignment)"),
        t("transfer", ("assigned", "accepted"), "assigned", roles=STAFF, by=(HANDLER,), stops=("co_handling",),
          description="转办"),
        t("start", "accepted", "in_progress", roles=STAFF, by=(HANDLER,), description="办理"),
        t("respond", "in_progress", "responded", roles=STAFF, by=(HANDLER,), stops=("handling", "co_handling"),
          starts=("review_window",), description="处理意见书: support / explain / not_support"),
        t("evaluate", "responded", STAY, roles=STAFF, by=(HANDLER,), description="满意度评价"),
        t("close", ("responded", "reviewed"), "closed", roles=STAFF, by=(HANDLER, PARENT),
          stops=("review_window", "re_review_window"),
          description="办结: satisfied, or the review window has passed"),
        t("request_review", "responded", "under_review", roles=STAFF, by=(HANDLER, PARENT),
          stops=("review_window",), starts=("review",), description="申请复查 within 30 days of the response"),
        t("decide_review", "under_review", "reviewed", roles=STAFF, by=(PARENT,), stops=("review",),
          starts=("re_review_window",), description="复查意见 by the unit one level up"),
        t("request_re_review", "reviewed", "under_re_review", roles=STAFF, by=(PARENT, GRANDPARENT),
          stops=("re_review_window",), starts=("re_review",), description="申请复核 within 30 days"),
        t("decide_re_review", "under_re_review", "closed", roles=STAFF, by=(GRANDPARENT,), stops=("re_review",),
          description="复核意见: final (终结)"),
        t("merge", OPEN_PETITION, "merged", roles=STAFF, by=(HANDLER, DISPATCHER),
          stops=("acceptance", "handling", "co_handling"), description="重复信访: merge into an earlier open case"),
        t("suspend", ("accepted", "in_progress"), "suspended", roles=STAFF, by=(HANDLER,),
          pauses=("handling", "co_handling"), description="中止"),
        t("resume", "suspended", PRIOR, roles=STAFF, by=(HANDLER,), resumes=("handling", "co_handling"),
          description="恢复"),
        t("reopen", "closed", "in_progress", roles=SUPERVISOR, by=(HANDLER, ANCESTOR),
          starts=("handling", "co_handling"), description="重办"),
        t("reopen", ("not_accepted", "merged"), "assigned", roles=SUPERVISOR, by=(HANDLER, ANCESTOR),
          starts=("acceptance",), description="重办"),
        t("add_co_handler", ("accepted", "in_progress"), STAY, roles=STAFF, by=(HANDLER,), starts=("co_handling",),
          description="协办单位"),
        t("co_handler_submit", ("accepted", "in_progress"), STAY, roles=STAFF, by=(CO_HANDLER,),
          stops=("co_handling",), description="协办意见"),
        t("spin_off_lead", ("assigned", "accepted", "in_progress"), STAY, roles=STAFF, by=(HANDLER,),
          description="移交问题线索 to discipline inspection; the petition goes on"),
        *supervision_transitions(SUPERVISABLE_PETITION, ("accepted", "in_progress")),
    ),
)

COMPLAINT = Workflow(
    kind="complaint",
    states=("registered", "assigned", "contacted", "handled", "visited_back", "closed"),
    initial="registered",
    terminal=frozenset({"closed"}),
    clocks=frozenset({"contact", "handling"}),
    transitions=(
        t("assign", "registered", "assigned", roles=STAFF, by=(DISPATCHER,), description="派单"),
        t("contact", "assigned", "contacted", roles=STAFF, by=(HANDLER,), stops=("contact",), description="首次联系"),
        t("handle", "contacted", "handled", roles=STAFF, by=(HANDLER,), stops=("handling",), description="办理"),
        t("visit_back", "handled", "visited_back", roles=STAFF, by=(HANDLER,), description="回访 with satisfaction"),
        t("close", "visited_back", "closed", roles=STAFF, by=(HANDLER,), description="办结"),
        t("return", "assigned", "registered", roles=STAFF, by=(HANDLER,), description="退回"),
        t("transfer", ("assigned", "contacted"), "assigned", roles=STAFF, by=(HANDLER,), description="转办"),
        t("reopen", "closed", "assigned", roles=SUPERVISOR, by=(HANDLER, ANCESTOR),
          starts=("contact", "handling"), description="重办"),
        *supervision_transitions(SUPERVISABLE_COMPLAINT, ("contacted",)),
    ),
)

WORKFLOWS: dict[str, Workflow] = {w.kind: w for w in (PETITION, COMPLAINT)}


def workflow_for(kind: str) -> Workflow:
    return WORKFLOWS[kind]


# -- discipline leads (问题线索) -----------------------------------------------
INSPECTORS = ("inspector", "supervisor")  # at a discipline unit: staff and supervisor-level inspectors
LEAD_OPEN = ("received", "registered", "inquiry", "verification", "held")

LEAD = Workflow(
    kind="lead",
    states=("received", "registered", "inquiry", "verification", "held", "investigation", "transferred", "closed"),
    initial="received",
    terminal=frozenset({"closed"}),
    clocks=frozenset({"reporter_notice", "inquiry_answer", "inquiry_report", "verification"}),
    transitions=(
        t("register", "received", "registered", roles=INSPECTORS, by=(HANDLER,), description="线索登记"),
        t("forward", ("received", "registered"), "received", roles=INSPECTORS, by=(HANDLER,),
          description="转交上级或下级 within 5 working days of receipt"),
        t("take_over", LEAD_OPEN, STAY, roles=SUPERVISOR, by=(ANCESTOR,), description="直查直办"),
        t("notify_reporter", LEAD_OPEN + ("investigation", "transferred"), STAY, roles=INSPECTORS, by=(HANDLER,),
          stops=("reporter_notice",), description="受理告知 to a real-name reporter"),
        t("dispose_inquiry", "registered", "inquiry", roles=SUPERVISOR, by=(HANDLER,), starts=("inquiry_answer",),
          description="谈话函询"),
        t("dispose_verification", "registered", "verification", roles=SUPERVISOR, by=(HANDLER,),
          starts=("verification",), description="初步核实"),
        t("dispose_hold", "registered", "held", roles=SUPERVISOR, by=(HANDLER,), description="暂存待查"),
        t("dispose_close", "registered", "closed", roles=SUPERVISOR, by=(HANDLER,), description="予以了结"),
        t("dispose_investigation", "registered", "investigation", roles=SUPERVISOR, by=(HANDLER,),
          description="审查调查"),
        t("record_answer", "inquiry", STAY, roles=INSPECTORS, by=(HANDLER,), stops=("inquiry_answer",),
          starts=("inquiry_report",), description="函询回复"),
        t("reactivate", "held", "registered", roles=SUPERVISOR, by=(HANDLER,), description="重新处置"),
        t("file_case", ("inquiry", "verification", "held"), "investigation", roles=SUPERVISOR, by=(HANDLER,),
          stops=("inquiry_answer", "inquiry_report", "verification"), description="立案"),
        t("conclude", ("inquiry", "verification", "held"), "closed", roles=SUPERVISOR, by=(HANDLER,),
          stops=("inquiry_answer", "inquiry_report", "verification"), description="了结"),
        t("transfer_out", ("inquiry", "verification", "held"), "transferred", roles=SUPERVISOR, by=(HANDLER,),
          stops=("inquiry_answer", "inquiry_report", "verification"), description="移送"),
        t("close", ("investigation", "transferred"), "closed", roles=SUPERVISOR, by=(HANDLER,), description="办结"),
    ),
)

# -- rectification ledger items (整改事项) -------------------------------------
RECTIFICATION = Workflow(
    kind="rectification",
    states=("assigned", "in_progress", "submitted", "verified"),
    initial="assigned",
    terminal=frozenset({"verified"}),
    clocks=frozenset({"rectification"}),
    transitions=(
        t("start", "assigned", "in_progress", roles=STAFF, by=(HANDLER,), description="开始整改"),
        t("submit", "in_progress", "submitted", roles=STAFF, by=(HANDLER,), description="提交销号"),
        t("verify", "submitted", "verified", roles=SUPERVISOR, by=(PARENT,), stops=("rectification",),
          description="销号 by a supervisor of the unit above"),
        t("send_back", "submitted", "in_progress", roles=SUPERVISOR, by=(PARENT,), description="退回重改"),
        *supervision_transitions(("assigned", "in_progress", "submitted"), ()),
    ),
)

WORKFLOWS.update({w.kind: w for w in (LEAD, RECTIFICATION)})
