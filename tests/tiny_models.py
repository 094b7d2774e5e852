"""Randomly initialised *tiny* Hugging Face models built offline, for the export / import / pull tests.

Weights are random (seeded): the export path, the INT8 quantisation and the runtime do not depend on their
values, only on the architecture. Needs the optional ``export`` extra (torch, transformers).
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

from codegraph.embed.registry import bundled_models_dir

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
"""Shared size of the tiny models: 2 layers, hidden 32 (so 32-dimensional embeddings)."""

ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
"""RoBERTa's special tokens, at ids 0-4 as in CodeBERT's vocabulary."""


def profile_toml(name: str, architecture: str, *, dim: int = 32, max_tokens: int = 128) -> str:
    """A ``profile.toml`` for a tiny test model."""
    return (
        f'name = "{name}"\nsource = "test/tiny-random-{architecture}"\nrevision = "main"\n'
        f'architecture = "{architecture}"\npooling = "mean"\nnormalize = true\nmax_tokens = {max_tokens}\n'
        f'dim = {dim}\nlicense = "Apache-2.0"\n'
    )


def write_profile(directory: Path, name: str, architecture: str) -> Path:
    """Write ``directory/profile.toml`` for a tiny model; returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profile.toml").write_text(profile_toml(name, architecture), encoding="utf-8")
    return directory


def tiny_bert(dest: Path) -> Path:
    """BERT (MiniLM's architecture) with the bundled model's WordPiece ``tokenizer.json``."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, **TINY)
    BertModel(config).eval().save_pretrained(dest)
    shutil.copyfile(bundled_models_dir() / "minilm" / "tokenizer.json", dest / "tokenizer.json")
    return dest


def tiny_roberta(
    dest: Path, *, vocab_size: int = 2000, hidden_size: int = 32, heads: int = 2, max_positions: int = 130
) -> Path:
    """RoBERTa (CodeBERT's architecture) with a byte-level BPE vocabulary trained here on standard-library code.

    Like CodeBERT's hub folder, it has ``vocab.json`` + ``merges.txt`` and no ``tokenizer.json``, so the import
    must convert the tokenizer. ``hidden_size=768, heads=12, max_positions=514`` gives a 2-layer model whose
    output width and position limit match the real ``codebert`` profile (768-d, 512 tokens).
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel

    dest.mkdir(parents=True, exist_ok=True)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = [str(stdlib / name) for name in ("argparse.py", "textwrap.py", "csv.py", "json/decoder.py")]
    bpe = ByteLevelBPETokenizer()
    bpe.train(corpus, vocab_size=vocab_size, min_frequency=2, special_tokens=ROBERTA_SPECIALS, show_progress=False)
    bpe.save_model(str(dest))
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=bpe.get_vocab_size(),
        max_position_embeddings=max_positions,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **{**TINY, "hidden_size": hidden_size, "num_attention_heads": heads},
    )
    RobertaModel(config, add_pooling_layer=False).eval().save_pretrained(dest)
    return dest
