"""How the index stores its vectors: float32, int8 (scalar quantisation) or binary (sign bits, rescored), with an
optional PCA reduction fitted on the index's own vectors. Pure numpy; the SQL lives in :mod:`.store`.

* **float**: the model's float32 vectors, KNN by cosine distance (exact).
* **int8**: ``round(x * scale)`` clipped to [-127, 127], one scale for the whole index (:func:`fit_scale`), KNN by
  cosine distance directly on sqlite-vec ``int8[N]``. One scalar (not one per dimension) keeps the geometry: the
  cosine of two int8 vectors approximates the cosine of the float ones, where a per-dimension scale would
  reweight the dimensions.
* **binary**: one bit per dimension (``int8 > 0``) in sqlite-vec ``bit[N]``, KNN by hamming distance for
  ``rescore_factor * k`` candidates, which are then rescored by the cosine of the float query with their int8
  vectors (kept beside the bits). The hamming-then-rescore pattern: sqlite-vec's "binary quantization" guide and
  Yamada et al., "Efficient Passage Retrieval with Hashing for Open-domain Question Answering", ACL 2021.
* **PCA** (``vector_dims``): vectors become ``normalise(x @ components)`` with ``components`` the top right
  singular vectors of a sample of the index's own vectors (numpy SVD, not centred: a truncated SVD keeps the
  inner products that cosine ranking uses best; on 141k chunks of the fast model, recall@10 of 128 of 256
  dimensions was 0.79 uncentred against 0.72 centred), fitted once when at least :data:`PCA_MIN_VECTORS`
  exist; queries are projected the same way. Quantisation applies after projection.

The representation of an index is a :class:`VectorCodec`; which one an index should have (from the ``vectors``
and ``vector_dims`` settings and its size) is decided by :func:`wanted_layout` and :func:`can_convert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import VECTOR_FORMATS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

INT8_LIMIT = 127
"""Largest int8 magnitude used (-128 is left out so that the range is symmetric)."""

SCALE_QUANTILE = 0.9999
"""Quantile of the absolute component values that maps to :data:`INT8_LIMIT` (the rarer larger ones clip)."""

PCA_MIN_VECTORS = 2_000
"""Vectors needed before PCA is fitted; until then an index with ``vector_dims`` keeps full-width float32."""

PCA_SAMPLE = 50_000
"""Most vectors the PCA and the int8 scale are fitted on (evenly spaced over the index)."""

RESCORE_FACTOR = 2
"""Binary KNN fetches ``RESCORE_FACTOR * k`` candidates by hamming distance (at least
:data:`RESCORE_MIN_CANDIDATES`) before rescoring them. Small, because sqlite-vec 0.1.9's KNN on ``bit[N]``
costs about 0.24 ms per unit of ``k`` at 141k vectors (k = 10: 7 ms, 100: 24 ms, 400: 110 ms; float at
k = 100: 166 ms, same machine and load; ``docs/vectors.md``)."""

RESCORE_MIN_CANDIDATES = 200
"""Fewest hamming candidates a binary KNN rescores: with 256 bits (the fast model), 100 candidates gave
recall@10 0.87 against exact float search on 141k chunks, 200 gave 0.92, 400 gave 0.94 (``docs/vectors.md``)."""

AUTO_MIN_VECTORS = 50_000
"""``vectors = "auto"``: an index with at least this many vectors is converted to :data:`AUTO_FORMAT`."""

AUTO_FORMAT = "int8"
"""What ``vectors = "auto"`` converts a large index to: int8 kept recall@10 at 0.98 of exact float search for
0.27x the vector table and no slower KNN, where binary + rescoring (0.31x) traded recall (0.92) for speed that
sqlite-vec 0.1.9 only gives at small ``k`` (``docs/vectors.md``)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """A representation, without its fitted parameters.

    Attributes:
        format: one of :data:`~codegraph.config.VECTOR_FORMATS`.
        dims: PCA width, or ``None`` for the model's full width.
    """

    format: str
    dims: int | None = None


@dataclass(frozen=True, slots=True)
class VectorCodec:
    """A fitted representation: turns the model's float32 vectors into what the vector table stores.

    Attributes:
        format: one of :data:`~codegraph.config.VECTOR_FORMATS`.
        width: the stored vectors' width (the model's ``dim``, or the PCA width).
        scale: int8 units per unit of a (projected) component; ``0.0`` for float.
        components: float32 ``(dim, width)`` PCA projection, or ``None`` without PCA.
    """

    format: str
    width: int
    scale: float = 0.0
    components: npt.NDArray[np.float32] | None = None

    @property
    def layout(self) -> Layout:
        """The representation without its parameters."""
        return Layout(self.format, None if self.components is None else self.width)

    def describe(self) -> str:
        """A short identity, recorded in ``meta.vector_codec``: format, width, scale and PCA on/off."""
        pca = "pca" if self.components is not None else "full"
        return f"{self.format}:{self.width}:{pca}:{self.scale:.6g}"

    def project(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """float32 ``(n, dim)`` -> float32 ``(n, width)``: the PCA projection, re-normalised (identity without
        PCA)."""
        import numpy as np

        x = np.asarray(vectors, dtype=np.float32)
        if self.components is None:
            return x
        y = x @ self.components
        out: npt.NDArray[np.float32] = (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(
            np.float32
        )
        return out

    def quantize(self, projected: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
        """float32 ``(n, width)`` (already projected) -> int8 ``(n, width)``: ``round(x * scale)``, clipped."""
        import numpy as np

        q = np.rint(np.asarray(projected, dtype=np.float32) * self.scale)
        out: npt.NDArray[np.int8] = np.clip(q, -INT8_LIMIT, INT8_LIMIT).astype(np.int8)
        return out


def sign_bits(int8: npt.NDArray[np.int8]) -> npt.NDArray[np.uint8]:
    """int8 ``(n, width)`` -> uint8 ``(n, ceil(width / 8))``: bit ``i`` set where component ``i`` is > 0, least
    significant bit first (sqlite-vec's ``bit[N]`` layout, as its ``vec_quantize_binary``)."""
    import numpy as np

    return np.packbits(np.asarray(int8) > 0, axis=1, bitorder="little")


def rescore(query: npt.NDArray[np.float32], int8: npt.NDArray[np.int8]) -> npt.NDArray[np.float32]:
    """Cosine distance (``1 - cosine``, in [0, 2]) of one float32 ``(width,)`` query to int8 ``(n, width)``
    candidates (an asymmetric comparison: the query is not quantised)."""
    import numpy as np

    docs = int8.astype(np.float32)
    q = np.asarray(query, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(docs, axis=1) * max(float(np.linalg.norm(q)), 1e-12), 1e-12)
    distances: npt.NDArray[np.float32] = (1.0 - (docs @ q) / norms).astype(np.float32)
    return distances


def fit_scale(projected: npt.NDArray[np.float32]) -> float:
    """The int8 scale of an index: :data:`INT8_LIMIT` over the :data:`SCALE_QUANTILE` quantile of the absolute
    components of a sample of its (projected) vectors; a quantile rather than the maximum so that one outlier
    does not waste the range of every vector."""
    import numpy as np

    top = float(np.quantile(np.abs(projected), SCALE_QUANTILE)) if projected.size else 0.0
    return INT8_LIMIT / top if top > 0 else float(INT8_LIMIT)


def fit_pca(sample: npt.NDArray[np.float32], dims: int) -> npt.NDArray[np.float32]:
    """float32 ``(dim, dims)``: the top ``dims`` right singular vectors of ``sample`` (float32 ``(n, dim)``,
    ``n >= dims``), by numpy SVD (not centred; see the module docstring).

    Raises:
        ValueError: ``dims`` is not below the vectors' width, or the sample has fewer than ``dims`` rows.
    """
    import numpy as np

    n, dim = sample.shape
    if not 0 < dims < dim or n < dims:
        raise ValueError(f"cannot fit {dims} principal components on {n} vectors of width {dim}")
    _u, _s, vt = np.linalg.svd(np.asarray(sample, dtype=np.float64), full_matrices=False)
    return np.ascontiguousarray(vt[:dims].T, dtype=np.float32)


def fit_codec(layout: Layout, sample: npt.NDArray[np.float32], *, base: VectorCodec | None = None) -> VectorCodec:
    """Fit ``layout`` on a sample of float32 ``(n, dim)`` vectors (full width; or, with ``base`` a fitted PCA
    codec of the same width, already projected ones: its projection is kept).

    Raises:
        ValueError: see :func:`fit_pca`.
    """
    components = None if base is None else base.components
    width = sample.shape[1]
    if layout.dims is not None and components is None:
        components = fit_pca(sample, layout.dims)
        width = layout.dims
    codec = VectorCodec(layout.format, width, 0.0, components)
    if layout.format == "float":
        return codec
    projected = codec.project(sample) if base is None else sample
    return VectorCodec(layout.format, width, fit_scale(projected), components)


def wanted_layout(vectors: str, dims: int | None, *, current: Layout, count: int, width: int) -> Layout:
    """The representation the settings ask for an index of ``count`` vectors now in ``current``, whose stored
    vectors will be ``width`` wide.

    ``auto`` means float below :data:`AUTO_MIN_VECTORS` vectors and :data:`AUTO_FORMAT` from there on (int8 where
    ``width`` is not a multiple of 8, which ``bit[N]`` needs); once converted, an ``auto`` index stays converted
    when it shrinks (no flapping, no re-embedding).
    """
    if vectors != "auto":
        return Layout(vectors, dims)
    compact = Layout(AUTO_FORMAT if AUTO_FORMAT != "binary" or width % 8 == 0 else "int8", dims)
    if count >= AUTO_MIN_VECTORS or current == compact:
        return compact
    return Layout("float", dims)


def can_convert(current: Layout, wanted: Layout) -> bool:
    """Whether vectors stored as ``current`` can become ``wanted`` without the model: from full-width float to
    anything (PCA and the int8 scale are fitted on them), and between float, int8 and binary of the same
    projection towards less precision (int8 and binary share the int8 vectors). Anything else (back to float,
    another PCA width, PCA added to or removed from quantised vectors) needs the vectors embedded again."""
    if current == wanted or current == Layout("float"):
        return True
    if current.dims != wanted.dims:
        return False
    return wanted.format != "float"


def is_pending(current: Layout, wanted: Layout, count: int) -> bool:
    """Whether a full-width float index waits for :data:`PCA_MIN_VECTORS` vectors before its PCA is fitted."""
    return current == Layout("float") and wanted.dims is not None and count < max(PCA_MIN_VECTORS, wanted.dims)


def check_format(name: str) -> str:
    """``name`` if it is one of :data:`~codegraph.config.VECTOR_FORMATS`. Raises ``ValueError`` otherwise."""
    if name not in VECTOR_FORMATS:
        raise ValueError(f"unknown vector format {name!r}")
    return name
