"""Org's template filter: `{% load role_tags %}`.

- ``{{ user|has_role:"office" }}`` — whether the user holds that role in any unit
  (duban.org.scope.roles_of; memberships are cached on the user, so one query per request).
"""

from django import template

from duban.org.scope import roles_of

register = template.Library()


@register.filter
def has_role(user, role: str) -> bool:
    return role in roles_of(user)
