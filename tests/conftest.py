"""Shared fixtures (shared plain helpers: tests/helpers.py and tests/browser_helpers.py). MNIST_DIR points at
the real data (../shared/mnist beside the repo) unless already set."""
import os
import shutil

import pytest

import cnn
from helpers import ROOT, make_weights_dir

SHARED_MNIST = ROOT.parent / "shared" / "mnist"
os.environ.setdefault("MNIST_DIR", str(SHARED_MNIST))


@pytest.fixture(scope="session")
def subset():
    """A small real MNIST subset committed to the repo: 1,000 training and 2,000 test images."""
    from cnn.files.mnist import FILES, load_subset
    return dict(zip(FILES, load_subset(), strict=True))


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 real MNIST test images and labels, from MNIST_DIR or the cache (tests never download them).
    Without them the test is skipped, unless CI is set: CI has them (.ci/run)."""
    try:
        _, _, x, y = cnn.load_mnist(mirrors=[])
    except cnn.MnistError as e:
        if os.environ.get("CI"):
            pytest.fail(f"MNIST is required when CI is set: {e}")
        pytest.skip(f"no MNIST in MNIST_DIR or the cache ({str(e).splitlines()[0]}); only the committed "
                    "2,000 test images were measured")
    return x, y


# ---------------------------------------------------------------- app fixtures (app.py, ui/, app_pages/)

@pytest.fixture(scope="session")
def app_weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("weights"))


@pytest.fixture
def app_env(app_weights, monkeypatch, tmp_path):
    """Point the app at the fixture weights folder and an empty data folder (the user's drawings), and run
    it from the repository root."""
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(app_weights))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.chdir(ROOT)
    return app_weights


@pytest.fixture
def weights(app_weights, tmp_path, monkeypatch):
    """A private copy of the fixture weights folder (default.npz, experiment.json) plus a "shipped" c8p.npz,
    at tmp_path/outside/weights, so that anything written beside or above the folder would show."""
    folder = tmp_path / "outside" / "weights"
    shutil.copytree(app_weights, folder)
    shutil.copy(folder / "default.npz", folder / "c8p.npz")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.chdir(ROOT)
    return folder


# ---------------------------------------------------------------- browser fixtures (tests/browser_helpers.py)

@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A real Streamlit server on the fixture weights and an empty data folder: (url, whether the default model
    is the trained one). Test modules that need another server define their own `app`."""
    from browser_helpers import start_server, stop_server, weights_env
    env, trained = weights_env(tmp_path_factory)
    env["CNN_DATA_DIR"] = str(tmp_path_factory.mktemp("user-data"))     # never the user's own drawings
    proc, url, _ = start_server(env)
    try:
        yield url, trained
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    """One persistent headless Chromium context per test module."""
    from playwright.sync_api import sync_playwright

    from browser_helpers import launch
    with sync_playwright() as p:
        context = launch(p)
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()           # a new page is a new Streamlit session
    yield page
    page.close()
