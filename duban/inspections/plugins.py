"""What a higher app tells the inspections about the problems filed under them.

The inspections sit below the ledger (README, "For a new developer"), so they do not import
it; the ledger registers here in its AppConfig.ready() what the inspection pages and actions
ask about problems. Without a registration (a project without the ledger) an inspection has
no problems: no counts, nothing that stops a change.
"""

from collections.abc import Callable

# (user, inspection ids) → {inspection id: [{"state", "label", "count"}, …] in life-cycle order}
_counts_by_state: Callable | None = None
# (inspection) → a refusal message when its acceptance levels may not change now, else None
_level_change_refusals: list[Callable] = []


def register_counts_by_state(function: Callable) -> None:
    global _counts_by_state
    _counts_by_state = function


def register_level_change_check(function: Callable) -> None:
    if function not in _level_change_refusals:
        _level_change_refusals.append(function)


def counts_by_state(user, inspection_ids) -> dict[int, list[dict]]:
    """The problems of each inspection that `user` may see, counted by state."""
    if _counts_by_state is None:
        return {pk: [] for pk in inspection_ids}
    return _counts_by_state(user, inspection_ids)


def level_change_refusal(inspection) -> str | None:
    """Why the acceptance levels of `inspection` may not change now, or None."""
    for check in _level_change_refusals:
        refusal = check(inspection)
        if refusal:
            return refusal
    return None
