"""Database backends that append audit events to the chain in one short step at commit.

Set by settings.py (DATABASES["default"]["ENGINE"]); see pending.py for the design.
"""
