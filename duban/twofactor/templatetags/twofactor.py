"""Two-factor cards other apps' pages show without importing this app (a template tag)."""

from django import template

from ..policy import has_two_factor, required_for

register = template.Library()


@register.inclusion_tag("twofactor/_admin_card.html")
def two_factor_admin_card(account):
    """The system administrator's view of one account's second factor, with the reset button."""
    return {"account": account, "on": has_two_factor(account), "required": required_for(account)}
