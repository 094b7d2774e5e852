"""Chunking: tree-sitter definitions for known languages, line windows for other text."""

from .chunker import CHUNKER_VERSION, chunk_source, embedding_text
from .languages import LANGUAGE_NAMES, TEXT, detect_language

__all__ = ["CHUNKER_VERSION", "LANGUAGE_NAMES", "TEXT", "chunk_source", "detect_language", "embedding_text"]
