"""The sweep finds its rules by discovery: each app above supervision registers its own in a
`rules` module (duban/documents/rules.py, duban/escalation/rules.py); supervision's own come
after them. The registry itself imports none of those apps (the layers contract checks that)."""

from duban.supervision.sweep import RULES


def test_the_sweep_runs_every_apps_rules_in_the_order_they_always_ran():
    assert list(RULES) == [
        "export_cleanup",
        "stopped_jobs",
        "escalation.notices",
        "escalation.listing",
        "escalation.circulars",
        "escalation.referrals",
        "deliver",
        "public_notice",
        "deadline_reminders",
        "report_cycles",
        "ledger_counts",
    ]
