"""Django messages whose bundled Simplified Chinese translation is missing.

Never imported: makemessages reads these markers so that duban/locale carries a
Chinese text for them (Django 5.2 changed the msgid; its zh_Hans catalogue still
has the old one, so staff saw English).
"""

from django.utils.translation import ngettext_lazy

MISSING_IN_DJANGO_ZH_HANS = [
    # django.contrib.auth.password_validation.MinimumLengthValidator
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
]
