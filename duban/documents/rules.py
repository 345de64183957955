"""The documents app's sweep rules, found by the sweep registry (duban.supervision.apps):
"export_cleanup" (export_tasks.py) removes old export files, "stopped_jobs" (jobs.py) fails a
background job whose worker stopped. Importing a module registers its rules, in this order."""

from . import export_tasks, jobs  # noqa: F401
