"""What each document says: plain dicts of display strings, built from the ledger.

The same context feeds the .docx template (docxtpl) and the HTML template (PDF),
so the two formats never disagree. Values are strings, numbers and lists only:
a replaced .docx template runs in a Jinja sandbox and sees no model objects.
The documents are official Chinese forms (the bundled .docx templates are in
Chinese), so labels taken from the models are rendered in zh-hans whatever the
reader's interface language.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone, translation

from duban.audit.log import chain_head
from duban.inspections.models import ACCEPTANCE_LEVEL_CHOICES
from duban.ledger.models import (
    OPEN_WORK_STATES,
    ApplicationStatus,
    Decision,
    NoticeStatus,
    Problem,
    State,
)
from duban.ledger.pace import Pace
from duban.org.models import UnitKind
from duban.workcalendar.workdays import add_working_days

DOCUMENT_LANGUAGE = "zh-hans"
DEFAULT_OFFICE_NAME = "生态环境保护督察整改工作领导小组办公室"
NOTICE_REPLY_WORKING_DAYS = 5
DASH = "—"


@dataclass
class DocumentData:
    """One document ready to render: its kind (the template's name), title and context."""

    kind: str
    title: str
    stem: str  # the download's file name without extension
    context: dict = field(default_factory=dict)


# --- formatting ---------------------------------------------------------------------------


def cn_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else DASH


def cn_datetime(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else DASH


def _text(value) -> str:
    value = "" if value is None else str(value).strip()
    return value or DASH


def office_name_for(region) -> str:
    """The rectification office of the region or the nearest region above it."""
    from duban.org.models import Unit

    while region is not None:
        office = Unit.objects.filter(kind=UnitKind.OFFICE, region=region).order_by("id").first()
        if office:
            return office.name
        region = region.parent
    return DEFAULT_OFFICE_NAME


def _audit() -> dict:
    seq, hash_ = chain_head()
    return {"seq": seq, "hash": hash_}


def _common(title: str, office_name: str, today: dt.date) -> dict:
    return {
        "doc_title": title,
        "office_name": office_name,
        "today": cn_date(today),
        "date": cn_date(today),
        "generated_at": cn_datetime(timezone.now()),
        "audit": _audit(),
    }


def _deadline(problem: Problem) -> str:
    kinds = {"immediate": "立行立改", "by_date": "限期完成", "ongoing": "长期坚持"}
    text = "、".join(kinds[k] for k in problem.deadline_kinds())
    if problem.deadline_by_date and problem.deadline:
        text = f"{text}（{cn_date(problem.deadline)}前）" if text else cn_date(problem.deadline)
    return text or DASH


def _stem_part(text: str) -> str:
    return "".join(c for c in text if c not in '\\/:*?"<>|\r\n\t').strip() or "x"


# --- 销号审批表 / 验收意见 -----------------------------------------------------------------------


def closing_application_of(problem: Problem):
    """The application the record is about: the accepted or open one, else the latest."""
    applications = list(problem.closing_applications.order_by("-submitted_at", "-id"))
    for application in applications:
        if application.status in (ApplicationStatus.ACCEPTED, ApplicationStatus.SUBMITTED):
            return application
    return applications[0] if applications else None


def closing_record(problem: Problem, today: dt.date | None = None) -> DocumentData:
    """The closing record of one problem; the problem must have a closing application."""
    today = today or timezone.localdate()
    application = closing_application_of(problem)
    if application is None:
        raise ValueError("the problem has no closing application")
    levels = dict(ACCEPTANCE_LEVEL_CHOICES)
    with translation.override(DOCUMENT_LANGUAGE):
        title = "销号审批表"
        context = _common(title, office_name_for(problem.region), today)
        context["problem"] = {
            "inspection": _text(problem.inspection.name),
            "ledger_number": _text(problem.ledger_number),
            "title": problem.title,
            "feedback_text": _text(problem.feedback_text),
            "region": problem.region.full_name(),
            "lead_unit": _text(problem.lead_unit),
            "co_units": _text("、".join(str(u) for u in problem.co_units())),
            "lead_official": _text(problem.lead_official),
            "target": _text(problem.target),
            "deadline": _deadline(problem),
            "state": str(problem.get_state_display()),
        }
        context["measures"] = [
            {
                "number": i,
                "text": m.text,
                "owner": _text(m.owner),
                "due": cn_date(m.due_date),
                "done": "已完成" if m.done else "推进中",
            }
            for i, m in enumerate(problem.measures.all(), start=1)
        ]
        context["application"] = {
            "summary": _text(application.summary),
            "self_check": _text(application.self_check),
            "submitted_by": _text(application.submitted_by),
            "submitted_at": cn_datetime(application.submitted_at),
            "status": str(application.get_status_display()),
            "evidence_count": application.evidence.count(),
        }
        context["signatures"] = [
            {
                "signer": _text(s.signer),
                "role": str(s.get_role_display()),
                "statement": _text(s.statement),
                "signed_at": cn_datetime(s.signed_at),
                "content_hash": s.content_hash,
                "voided": s.voided_at is not None,
                "validity": (
                    f"已作废（{cn_datetime(s.voided_at)}，签字后申请被修改）"
                    if s.voided_at
                    else "有效"
                ),
            }
            for s in application.signatures.select_related("signer")
        ]
        context["reviews"] = [
            {
                "level": str(levels.get(r.level_name, r.level_name)),
                "decision": "通过" if r.decision == Decision.ACCEPTED else "退回",
                "reviewer": _text(r.reviewer),
                "reviewed_at": cn_datetime(r.reviewed_at),
                "site_check": _text(r.site_check),
                "reasons": _text(r.reasons),
            }
            for r in application.reviews.select_related("reviewer")
        ]
        notice = application.notices.order_by("-opened_at", "-id").first()
        context["notice"] = _notice(notice)
    stem = f"{title}-{_stem_part(problem.ledger_number or str(problem.pk))}"
    return DocumentData("closing_record", title, stem, context)


def _notice(notice) -> dict:
    if notice is None:
        return {"period": "未公示", "status": DASH, "objections": [], "objection_summary": "无"}
    objections = [
        {
            "text": o.text,
            "recorded_by": _text(o.recorded_by),
            "recorded_at": cn_datetime(o.recorded_at),
            "upheld": "异议成立" if o.upheld else "异议不成立",
        }
        for o in notice.objections.select_related("recorded_by").order_by("recorded_at", "id")
    ]
    status = {
        NoticeStatus.OPEN: "公示中",
        NoticeStatus.ENDED: "公示期满无异议",
        NoticeStatus.OBJECTED: "因异议退回",
    }.get(notice.status, notice.status)
    return {
        "period": f"{cn_date(notice.starts_on)}至{cn_date(notice.ends_on)}",
        "status": status,
        "objections": objections,
        "objection_summary": f"{len(objections)} 件" if objections else "无",
    }


# --- 督办通知单 -------------------------------------------------------------------------------


def supervision_notice(
    unit, problems, today: dt.date | None = None, number: str | None = None
) -> DocumentData:
    """A notice to one unit about its late problems; `problems` is already scoped."""
    today = today or timezone.localdate()
    late = (
        problems.overdue(today)
        .filter(lead_unit=unit)
        .select_related("lead_unit")
        .order_by("deadline", "id")
    )
    with translation.override(DOCUMENT_LANGUAGE):
        title = "督办通知单"
        context = _common(title, office_name_for(unit.region), today)
        rows = [
            {
                "number": i,
                "ledger_number": _text(p.ledger_number),
                "title": p.title,
                "deadline": cn_date(p.deadline),
                "days_overdue": (today - p.deadline).days,
                "pace": str(p.pace(today).label),
                "progress": f"{p.progress_percent}%",
            }
            for i, p in enumerate(late, start=1)
        ]
        context.update(
            {
                "unit": {"name": unit.name, "short_name": unit.short_name or unit.name},
                "number": number or f"督办〔{today.year}〕{today:%m%d}-{unit.pk}号",
                "problems": rows,
                "count": len(rows),
                "reply_by": cn_date(
                    add_working_days(today + dt.timedelta(days=1), NOTICE_REPLY_WORKING_DAYS)
                ),
            }
        )
    stem = f"{title}-{_stem_part(unit.short_name or unit.name)}-{today:%Y%m%d}"
    return DocumentData("supervision_notice", title, stem, context)


# --- 整改进展情况报告 ---------------------------------------------------------------------------


def _late_row(i, p, today):
    return {
        "number": i,
        "ledger_number": _text(p.ledger_number),
        "title": p.title,
        "lead_unit": _text(p.lead_unit),
        "deadline": cn_date(p.deadline),
        "days_overdue": (today - p.deadline).days,
        "pace": str(p.pace(today).label),
    }


def progress_report(
    inspection, problems, today: dt.date | None = None, office_name: str | None = None
) -> DocumentData:
    """Totals, pace, late and closed lists and the figures by unit for one inspection."""
    today = today or timezone.localdate()
    problems = problems.filter(inspection=inspection)
    overdue_q = Q(state__in=OPEN_WORK_STATES, deadline__lt=today)
    with translation.override(DOCUMENT_LANGUAGE):
        title = "整改进展情况报告"
        office = office_name or office_name_for(inspection.target_region)
        context = _common(title, office, today)
        by_state = dict(problems.order_by().values_list("state").annotate(n=Count("id")))
        total = sum(by_state.values())
        closed = by_state.get(State.CLOSED, 0)
        overdue = problems.filter(overdue_q).count()
        # The on-time rate counts open overdue items too (DESIGN §3).
        # Closed on time: on or before the deadline; no deadline counts as on time.
        closed_on_time = problems.filter(
            state=State.CLOSED,
            closed_at__date__lte=Coalesce(F("deadline"), TruncDate("closed_at")),
        ).count()
        rate_base = closed + overdue
        context["inspection"] = {"name": inspection.name, "code": inspection.code}
        context["totals"] = {
            "total": total,
            "closed": closed,
            "open": total - closed,
            "overdue": overdue,
            "on_time_rate": f"{closed_on_time * 100 / rate_base:.1f}%" if rate_base else DASH,
        }
        context["by_state"] = [
            {"label": str(label), "count": by_state.get(value, 0)} for value, label in State.choices
        ]
        context["by_pace"] = [
            {"label": str(label), "count": problems.with_pace(value, today).count()}
            for value, label in Pace.choices
        ]
        units = (
            problems.order_by()
            .values("lead_unit__name")
            .annotate(
                total=Count("id"),
                closed=Count("id", filter=Q(state=State.CLOSED)),
                overdue=Count("id", filter=overdue_q),
            )
            .order_by("lead_unit__name")
        )
        behind = dict(
            problems.with_pace(Pace.BEHIND, today)
            .order_by()
            .values_list("lead_unit__name")
            .annotate(n=Count("id"))
        )
        context["by_unit"] = [
            {
                "name": _text(u["lead_unit__name"]),
                "total": u["total"],
                "closed": u["closed"],
                "open": u["total"] - u["closed"],
                "overdue": u["overdue"],
                "behind": behind.get(u["lead_unit__name"], 0),
            }
            for u in units
        ]
        late = problems.filter(overdue_q).select_related("lead_unit").order_by("deadline", "id")
        context["late"] = [_late_row(i, p, today) for i, p in enumerate(late, start=1)]
        closed_list = (
            problems.filter(state=State.CLOSED).select_related("lead_unit").order_by("closed_at")
        )
        context["closed"] = [
            {
                "number": i,
                "ledger_number": _text(p.ledger_number),
                "title": p.title,
                "lead_unit": _text(p.lead_unit),
                "closed_at": cn_date(timezone.localdate(p.closed_at) if p.closed_at else None),
            }
            for i, p in enumerate(closed_list, start=1)
        ]
    stem = f"{title}-{_stem_part(inspection.code)}-{today:%Y%m%d}"
    return DocumentData("progress_report", title, stem, context)


# --- 公示 -------------------------------------------------------------------------------------


def public_notice(
    inspection, problems, today: dt.date | None = None, office_name: str | None = None
) -> DocumentData:
    """The notice text for the problems of an inspection now in public notice."""
    today = today or timezone.localdate()
    batch = (
        problems.filter(inspection=inspection, state=State.PUBLIC_NOTICE)
        .select_related("lead_unit")
        .order_by("id")
    )
    with translation.override(DOCUMENT_LANGUAGE):
        title = "公示"
        office = office_name or office_name_for(inspection.target_region)
        context = _common(title, office, today)
        rows, starts, ends = [], [], []
        for i, p in enumerate(batch, start=1):
            notice = p.notices.filter(status=NoticeStatus.OPEN).first()
            if notice:
                starts.append(notice.starts_on)
                ends.append(notice.ends_on)
            rows.append(
                {
                    "number": i,
                    "ledger_number": _text(p.ledger_number),
                    "title": p.title,
                    "lead_unit": _text(p.lead_unit),
                    "summary": _text(notice.text if notice else ""),
                    "period": (
                        f"{cn_date(notice.starts_on)}至{cn_date(notice.ends_on)}"
                        if notice
                        else DASH
                    ),
                }
            )
        period = f"{cn_date(min(starts))}至{cn_date(max(ends))}" if starts else DASH
        context.update(
            {
                "inspection": {"name": inspection.name, "code": inspection.code},
                "problems": rows,
                "count": len(rows),
                "period": period,
                "text": (
                    f"　　根据生态环境保护督察整改销号工作要求，{inspection.name}反馈的以下"
                    f"{len(rows)}个问题已完成整改并通过验收，现予以公示。公示期为{period}"
                    f"（{inspection.notice_working_days}个工作日）。"
                ),
                "contact": (
                    f"　　公示期间，如对上述问题整改情况有异议，请以书面形式向{office}反映，"
                    "并提供具体事实和联系方式。"
                ),
            }
        )
    stem = f"{title}-{_stem_part(inspection.code)}-{today:%Y%m%d}"
    return DocumentData("public_notice", title, stem, context)
