"""Reads of inspections for one user: the scoped list and the getter that answers 404 outside scope."""

from django.http import Http404
from django.utils.translation import gettext as _

from duban.org.scope import inspection_scope_q

from .models import Inspection


def inspections_visible_to(user):
    """Every inspection whose target region overlaps the user's business scope."""
    q = inspection_scope_q(user)
    return Inspection.objects.none() if q is None else Inspection.objects.filter(q)


def get_inspection_for_user(user, pk) -> Inspection:
    """The inspection if `user` may see it; 404 otherwise, whether it exists or not."""
    try:
        return inspections_visible_to(user).select_related("target_region").get(pk=pk)
    except (Inspection.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such inspection.")) from None
