"""Storage: one SQLite file with sqlite-vec (vectors) and FTS5 (BM25)."""

from .store import INDEX_DIR, INDEX_FILE, ChunkRow, FileRow, Store, find_index_root

__all__ = ["INDEX_DIR", "INDEX_FILE", "ChunkRow", "FileRow", "Store", "find_index_root"]
