"""The `duban` command: Django's manage.py for this project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A setting an operator must fix (e.g. DUBAN_PRODUCTION without a secret key): the
        # message names the variable; a traceback would only bury it.
        sys.exit(f"duban: {error}")


if __name__ == "__main__":
    main()
