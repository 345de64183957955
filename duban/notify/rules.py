"""The sweep rule "deliver": digests that are due, then every delivery still pending."""

import datetime as dt
from collections import Counter

from duban.supervision.sweep import rule

from .delivery import deliver_pending, make_digests


@rule("deliver")
def deliver(now: dt.datetime) -> Counter:
    counts = make_digests(now)
    counts.update(deliver_pending(now))
    return counts
