"""Storage behind one interface (:class:`~codegraph.store.base.IndexStore`): one SQLite file per repository
with sqlite-vec (vectors) and FTS5 (BM25), the default, or a PostgreSQL + pgvector server holding many projects."""

from .base import IndexStore
from .open import default_project_name, index_lock, open_index, open_store, projects, remove_project, store_url
from .store import INDEX_DIR, INDEX_FILE, ChunkRow, FileRow, Store, find_index_root

__all__ = [
    "INDEX_DIR",
    "INDEX_FILE",
    "ChunkRow",
    "FileRow",
    "IndexStore",
    "Store",
    "default_project_name",
    "find_index_root",
    "index_lock",
    "open_index",
    "open_store",
    "projects",
    "remove_project",
    "store_url",
]
