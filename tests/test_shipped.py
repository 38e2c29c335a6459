"""The shipped weights and experiment results: complete, loadable, and as accurate as recorded, measured here on
the 10,000 MNIST test images (CI has them); without MNIST, only the committed 2,000 test images are measured,
with tolerances that say so."""
import json
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

import cnn
from cnn.studies.origin import CONFIGURATIONS

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
SHIPPED = CONFIGURATIONS + ["default"]
# The committed 2,000 test images are MNIST's first 2,000, a little harder than the rest: every shipped model
# scores 0.3-0.8 points lower on them than on all 10,000 (measured), and 2,000 images add sampling noise
# (3 standard errors: about 1 point at 98%). So on them, a model's accuracy is only checked within 1.5 points.
SUBSET_TOLERANCE = 0.015


def accuracy(model, x, y):
    with threadpool_limits(1):      # as in the app: OpenBLAS's second thread made this 10x slower on a busy machine
        return float((model.predict(x) == y).mean())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_recorded_accuracy_on_the_10000_mnist_test_images(name, mnist_test):
    model = cnn.load_model(WEIGHTS / f"{name}.npz")
    assert name == "default" or model.arch == name
    recorded = model.history[-1]["test_acc"]
    assert abs(accuracy(model, *mnist_test) - recorded) <= 2 / 10_000, recorded     # 2 images: BLAS rounding


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_within_1_5_points_of_its_recorded_accuracy_on_the_committed_2000_test_images(
        name, subset):
    model = cnn.load_model(WEIGHTS / f"{name}.npz")
    recorded = model.history[-1]["test_acc"]
    measured = accuracy(model, subset["x_test"], subset["y_test"])
    assert abs(measured - recorded) <= SUBSET_TOLERANCE, (recorded, measured)


def test_default_model_reaches_99_3_percent_on_the_10000_mnist_test_images(mnist_test):
    model = cnn.load_model(WEIGHTS / "default.npz")
    cnn.parse_arch(model.arch)
    assert accuracy(model, *mnist_test) >= 0.993


def test_default_model_reaches_98_5_percent_on_the_committed_2000_test_images(subset):
    """Not the 99.3% claim (that needs all 10,000 images, above): a model at 99.3% on all of them is expected
    at about 98.8% on these harder 2,000; 98.5% leaves room for sampling noise only (the shipped one: 99.05%)."""
    model = cnn.load_model(WEIGHTS / "default.npz")
    assert accuracy(model, subset["x_test"], subset["y_test"]) >= 0.985


def test_experiment_results_cover_every_configuration_and_protocol():
    results = json.loads((WEIGHTS / "experiment.json").read_text())
    for protocol, seeds in (("origin", 5), ("full", 3)):
        runs = results["protocols"][protocol]["runs"]
        for arch in CONFIGURATIONS:
            assert sorted(r["seed"] for r in runs if r["arch"] == arch) == list(range(seeds)), (protocol, arch)
    for arch in CONFIGURATIONS:   # the shipped file is the best seed of the full protocol
        best = max((r for r in results["protocols"]["full"]["runs"] if r["arch"] == arch),
                   key=lambda r: r["history"][-1]["test_acc"])
        assert cnn.load_model(WEIGHTS / f"{arch}.npz").history == best["history"]


def test_weights_folder_stays_small():
    assert sum(f.stat().st_size for f in WEIGHTS.iterdir()) < 10 * 2**20
