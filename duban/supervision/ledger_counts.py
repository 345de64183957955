"""Once a day the ledger's counts by state and pace move to the new day (duban.ledger.counts).

Not needed for the counts to be right, only to keep them cheap: it folds the rows the
actions added into one per key and counts pace lights as of today.
"""

import datetime as dt
from collections import Counter

from django.utils import timezone

from duban.ledger import counts

from .sweep import rule


@rule("ledger_counts")
def ledger_counts(now: dt.datetime) -> Counter:
    counts.roll_forward(timezone.localdate(now))
    # Bookkeeping, not a step anyone sees: nothing to report among the sweep's actions.
    return Counter()
