"""Re-create tests/data/mnist_subset.npz: the first 1000 training and first 2000 test images
and labels of the real MNIST, as uint8.

    MNIST_DIR=../shared/mnist python tests/data/make_subset.py
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from cnn.data import load_mnist  # noqa: E402

x_train, y_train, x_test, y_test = load_mnist()
out = Path(__file__).with_name("mnist_subset.npz")
np.savez_compressed(out, x_train=x_train[:1000], y_train=y_train[:1000],
                    x_test=x_test[:2000], y_test=y_test[:2000])
print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
