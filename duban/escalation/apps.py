from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    """The escalation ladder (督办通知 → 督查通报 → 约谈 and 问责移送) and accountability records."""

    name = "duban.escalation"
    label = "escalation"
    verbose_name = _("Escalation and accountability")

    def ready(self):
        from duban.ledger.timeline import register_labels

        register_labels(
            {
                "escalation.notice": _("Supervision notice issued (督办通知)"),
                "escalation.acknowledge": _("Supervision notice acknowledged (签收)"),
                "escalation.answer": _("Supervision notice answered"),
                "escalation.listed": _("Listed for the next circular (督查通报)"),
                "escalation.circulated": _("Named in a circular (督查通报)"),
                "escalation.interview": _("Interview scheduled (约谈)"),
                "escalation.referral": _("Referred for accountability (问责移送)"),
                "escalation.accountability": _("Accountability measure recorded (问责)"),
            }
        )
