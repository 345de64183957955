import datetime as dt

from django.db import models
from django.utils import timezone

from duban.org.scope import problem_scope_q

from .pace import pace_q


class ProblemQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every problem `user` may read; the only gate for lists, API and exports."""
        from .models import ProblemUnit

        q = problem_scope_q(user, ProblemUnit.objects)
        return self.none() if q is None else self.filter(q)

    def overdue(self, today: dt.date | None = None, overdue: bool = True):
        from .models import OPEN_WORK_STATES

        today = today or timezone.localdate()
        q = models.Q(state__in=OPEN_WORK_STATES, deadline__lt=today)
        return self.filter(q) if overdue else self.exclude(q)

    def with_pace(self, pace: str, today: dt.date | None = None):
        return self.filter(pace_q(pace, today or timezone.localdate()))
