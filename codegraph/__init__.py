"""codegraph: local code search with tree-sitter chunks, INT8 ONNX embeddings and one SQLite file.

Library use::

    from pathlib import Path
    import codegraph

    model = codegraph.resolve_model(None)               # bundled model unless codebert is installed
    encoder = codegraph.OnnxEncoder(model)
    stats = codegraph.index_repo(Path("."), encoder)
    searcher = codegraph.Searcher.open(Path("."), encoder)
    for hit in searcher.search("retry failed uploads", k=5):
        print(hit.path, hit.start_line, hit.symbol, hit.score)
"""

from typing import TYPE_CHECKING, Any

from .errors import (  # stdlib only: cheap to import eagerly
    CodegraphError,
    ConfigError,
    EvalError,
    FidelityError,
    IndexBusyError,
    IndexNotFoundError,
    IndexUnusableError,
    LLMError,
    ModelError,
    OutputError,
    RemoteEmbeddingError,
    SandboxError,
    SnippetNotFoundError,
    SourceError,
    StoreError,
    TargetError,
)

if TYPE_CHECKING:
    from .config import Settings, resolve_settings
    from .embed import OnnxEncoder, ResolvedModel, resolve_model
    from .index import index_repo
    from .search import Filters, Searcher
    from .types import Chunk, Hit, IndexStats, SourceFile

# Public names are imported on first use (PEP 562), so `codegraph --help` does not load numpy or onnxruntime.
_EXPORTS = {
    "Settings": "config",
    "resolve_settings": "config",
    "OnnxEncoder": "embed",
    "ResolvedModel": "embed",
    "resolve_model": "embed",
    "index_repo": "index",
    "Filters": "search",
    "Searcher": "search",
    "Chunk": "types",
    "Hit": "types",
    "IndexStats": "types",
    "SourceFile": "types",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'codegraph' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "CodegraphError",
    "ConfigError",
    "EvalError",
    "FidelityError",
    "Filters",
    "Hit",
    "IndexBusyError",
    "IndexNotFoundError",
    "IndexStats",
    "IndexUnusableError",
    "LLMError",
    "ModelError",
    "OnnxEncoder",
    "OutputError",
    "RemoteEmbeddingError",
    "ResolvedModel",
    "SandboxError",
    "Searcher",
    "Settings",
    "SnippetNotFoundError",
    "SourceError",
    "SourceFile",
    "StoreError",
    "TargetError",
    "__version__",
    "index_repo",
    "resolve_model",
    "resolve_settings",
]
