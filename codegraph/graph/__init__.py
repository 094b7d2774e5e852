"""Code graph facts of a file: definitions, references (calls, types, inheritance) and imports, from tree-sitter
queries (``queries/<language>.scm``). Extraction only: storage and name resolution live elsewhere."""

from .extract import Definition, FileGraph, Import, Reference, extract, extract_source

__all__ = ["Definition", "FileGraph", "Import", "Reference", "extract", "extract_source"]
