"""督办 Duban: the rectification ledger for ecological-environment inspections."""
