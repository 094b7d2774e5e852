"""Chunking: tree-sitter definitions for known languages, line windows for other text."""

from .chunker import CHUNKER_VERSION, chunk_source, embedding_text

__all__ = ["CHUNKER_VERSION", "chunk_source", "embedding_text"]
