"""Reads of the ledger for one user: the getters that answer 404 outside scope."""

from django.http import Http404
from django.utils.translation import gettext as _

from .models import Evidence, Problem


def get_problem_for_user(user, pk) -> Problem:
    """The problem if `user` may see it; 404 otherwise, whether it exists or not."""
    try:
        return (
            Problem.objects.visible_to(user)
            .select_related(
                "inspection", "region", "lead_unit", "lead_official", "acceptance_unit", "parent"
            )
            .get(pk=pk)
        )
    except (Problem.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such problem.")) from None


def get_evidence_for_user(user, pk) -> Evidence:
    """An evidence file if its problem is visible to `user`; 404 otherwise."""
    try:
        return Evidence.objects.select_related("problem").get(
            pk=pk, problem__in=Problem.objects.visible_to(user).values("pk")
        )
    except (Evidence.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such file.")) from None
