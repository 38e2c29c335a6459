"""Shared fixtures. MNIST_DIR points at the real data (../shared/mnist beside the repo) unless already set."""
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "mnist"
os.environ.setdefault("MNIST_DIR", str(SHARED_MNIST))


@pytest.fixture(scope="session")
def subset():
    """A small real MNIST subset committed to the repo: 1,000 training and 2,000 test images."""
    with np.load(ROOT / "tests" / "data" / "mnist_subset.npz") as f:
        return {k: f[k] for k in f.files}
