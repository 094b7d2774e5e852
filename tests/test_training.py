"""The training scripts' data handling (training/ is a tool directory, not part of the installed package)."""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parent.parent / "training"
if not TRAINING.is_dir():
    pytest.skip("training/ is only in a source checkout", allow_module_level=True)
sys.path.insert(0, str(TRAINING))

import provenance  # noqa: E402
import static  # noqa: E402
import train  # noqa: E402

from codegraph.embed.registry import bundled_models_dir  # noqa: E402


def _pairs() -> list[dict[str, str]]:
    rng = random.Random(0)
    pairs = []
    for lang, count in (("python", 300), ("go", 130), ("rust", 70)):
        for i in range(count):
            body = "x = 1\n" * rng.randint(1, 40)
            pairs.append(
                {"lang": lang, "package": f"{lang}-pkg{i % 3}", "query": f"q {lang} {i}", "positive": body + str(i)}
            )
    return pairs


def test_sample_pairs_caps_packages_then_languages_reproducibly() -> None:
    pairs = _pairs()
    first = train.sample_pairs(pairs, language_caps={"python": 60}, package_cap=40, rng=random.Random(1))
    again = train.sample_pairs(pairs, language_caps={"python": 60}, package_cap=40, rng=random.Random(1))
    assert first == again
    per_lang = Counter(p["lang"] for p in first)
    assert per_lang == {"python": 60, "go": 120, "rust": 70}  # go: 3 packages x 40; rust packages under the cap
    assert max(Counter(p["package"] for p in first).values()) <= 40


@pytest.mark.parametrize("by_length", [False, True])
@pytest.mark.parametrize("same_package", [0.0, 0.5])
def test_batches_hold_one_language_and_never_repeat_a_pair(by_length: bool, same_package: float) -> None:
    pairs = _pairs()
    batches = train.plan_batches(pairs, 32, same_package=same_package, rng=random.Random(2), by_length=by_length)
    seen = [i for batch in batches for i in batch]
    assert len(seen) == len(set(seen)) and all(len(b) == 32 for b in batches)
    assert all(len({pairs[i]["lang"] for i in batch}) == 1 for batch in batches)
    assert len(seen) >= len(pairs) - 3 * 2 * 32  # at most one partial batch dropped per language (and package pass)
    if by_length and not same_package:
        lengths = [[len(pairs[i]["positive"]) for i in b] for b in batches]
        spread = [max(sizes) / min(sizes) for sizes in lengths]
        assert sorted(spread)[len(spread) // 2] < 3  # similar lengths in a batch: little padding


def test_code_vocabulary_adds_only_words_the_tokenizer_splits() -> None:
    pairs = [{"positive": "def getattr_default(obj): return obj.getattr_default + httpresponse"}] * 25
    words = static.code_vocabulary(pairs, bundled_models_dir() / "minilm", 10)
    assert "httpresponse" in words and "default" not in words and "return" not in words
    assert all("_" not in w for w in words)


def test_provenance_reads_the_real_sources_lock() -> None:
    rows = provenance.read_lock(TRAINING / "sources.lock")
    assert len(rows) > 100 and all(len(r["sha256"]) == 64 and r["license"] for r in rows)
    assert not {r["name"] for r in rows} & {"click", "flask", "urllib3", "commander", "serde_json"}  # the dev set
