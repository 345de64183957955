"""The sweep rule "deliver": digests that are due, then every delivery still pending; those
cut off while sending are given up (see delivery.give_up_interrupted)."""

import datetime as dt
from collections import Counter

from duban.supervision.sweep import rule

from .delivery import deliver_pending, give_up_interrupted, make_digests


@rule("deliver")
def deliver(now: dt.datetime) -> Counter:
    counts = make_digests(now)
    counts.update(deliver_pending(now))
    counts.update(give_up_interrupted(now))
    return counts
