"""The documents of the ladder, through duban.documents.rendering (one rendering path).

The 督办通知 is the rendering package's supervision_notice, limited to the notice's
problems as of its day and carrying its number and answer date. The 督查通报 is the
"circular" kind: templates_docx/circular.docx (built by make_templates, replaceable in
DUBAN_DOCUMENT_TEMPLATES_DIR) and templates/documents/circular.html for the PDF.
"""

from django.utils import timezone, translation

from duban.documents import rendering
from duban.documents.rendering.context import (
    DOCUMENT_LANGUAGE,
    _common,
    _stem_part,
    _text,
    cn_date,
    office_name_for,
)
from duban.ledger.models import Problem

from .models import ListingReason


def notice_document(notice) -> rendering.DocumentData:
    day = timezone.localdate(notice.issued_at)
    problems = Problem.objects.filter(pk__in=notice.items.values("problem_id"))
    data = rendering.supervision_notice(notice.unit, problems, today=day, number=notice.number)
    data.context["reply_by"] = cn_date(notice.answer_due)
    return data


def circular_document(circular) -> rendering.DocumentData:
    day = timezone.localdate(circular.decided_at or circular.generated_at)
    entries = list(circular.entries.select_related("unit", "problem").order_by("unit__name", "id"))
    with translation.override(DOCUMENT_LANGUAGE):
        title = "督查通报"
        inspection = circular.inspection
        context = _common(title, office_name_for(circular.region), day)
        units: dict[int, dict] = {}  # by id: two regions may each have a unit of the same name
        for entry in entries:
            row = units.setdefault(entry.unit_id, {"name": entry.unit.name, "count": 0})
            row["count"] += 1
            row["max_days"] = max(row.get("max_days", 0), entry.days_overdue)
        context.update(
            {
                "number": circular.number or "（草稿）",
                "inspection": {"name": inspection.name, "code": inspection.code},
                "units": [{"number": i, **u} for i, u in enumerate(units.values(), start=1)],
                "problems": [
                    {
                        "number": i,
                        "unit": e.unit.name,
                        "ledger_number": _text(e.problem.ledger_number),
                        "title": e.problem.title,
                        "deadline": cn_date(e.deadline),
                        "days_overdue": e.days_overdue,
                        "reason": str(ListingReason(e.reason).label),
                    }
                    for i, e in enumerate(entries, start=1)
                ],
                "text": (
                    f"　　截至{cn_date(day)}，{inspection.name}整改工作中，以下{len(units)}个单位"
                    f"牵头的{len(entries)}个问题超过整改时限仍未完成，经督办仍未按期整改到位，"
                    "现予通报。"
                ),
                "request": (
                    "　　请被通报单位深刻反思，逐项分析原因，明确整改措施和完成时限，"
                    "确保按期完成整改任务，并将整改情况书面报送整改办。"
                ),
            }
        )
    stem = f"{title}-{_stem_part(circular.number or circular.period)}"
    return rendering.DocumentData("circular", title, stem, context)
