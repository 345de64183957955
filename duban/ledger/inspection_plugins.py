"""What the ledger tells the inspections about their problems (duban.inspections.plugins),
registered in LedgerConfig.ready(): the inspections sit below the ledger and do not import it."""

from django.db.models import Count
from django.utils.translation import gettext as _

from .models import Problem, State


def counts_by_state(user, inspection_ids) -> dict[int, list[dict]]:
    """{inspection id: the states that hold problems `user` sees, in life-cycle order, with
    their labels and counts}, in one aggregate query."""
    counts = {pk: {} for pk in inspection_ids}
    if inspection_ids:
        rows = (
            Problem.objects.visible_to(user)
            .filter(inspection_id__in=inspection_ids)
            .values("inspection_id", "state")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in rows:
            counts[row["inspection_id"]][row["state"]] = row["n"]
    return {
        pk: [
            {"state": state, "label": label, "count": by_state[state]}
            for state, label in State.choices
            if by_state.get(state)
        ]
        for pk, by_state in counts.items()
    }


def level_change_refusal(inspection) -> str | None:
    """Problems under acceptance were routed by the current levels: they keep them."""
    if Problem.objects.filter(inspection=inspection, state=State.UNDER_ACCEPTANCE).exists():
        return _(
            "Problems of this inspection are under acceptance at the current levels. "
            "Change the acceptance levels once they have been accepted or returned."
        )
    return None
