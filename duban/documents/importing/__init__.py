"""Import of rectification lists (整改清单 / 整改方案 tables) from .xlsx, .xls and .csv.

readers.py turns a file into sheets of cell text (refusing dangerous files),
layout.py finds the table in a sheet, parsing.py reads the cells' free text,
importer.py validates every row and commits all or nothing.
"""

from .importer import ImportResult, RowError, import_file, parse_file
from .readers import ImportRejected

__all__ = ["ImportRejected", "ImportResult", "RowError", "import_file", "parse_file"]
