"""What the Python binding tests share: finding the shared corpus."""

import os
from pathlib import Path

import pytest


def corpus() -> Path:
    """The corpus root: FIELDPROOF_CORPUS, else shared/corpus beside the checkout.
    Missing data fails the test, naming both places; it never skips."""
    default = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
    configured = os.environ.get("FIELDPROOF_CORPUS")
    root = Path(configured) if configured else default
    if not root.is_dir():
        pytest.fail(f"shared corpus not found at {root}: set FIELDPROOF_CORPUS (default {default})")
    return root
