"""The rules that keep time: reporting cycles, reminders before deadlines, the public notice."""

from . import notices, reminders, reporting  # noqa: F401
