"""Imports every module that registers sweep rules (see sweep.rule)."""
