"""The app's cache of models loaded from files (ui/core/model_cache.py): bounded by bytes, and a file that failed to
load is not read again until it changes."""
import os

import pytest

import cnn
from cnn.files.weights import save_model
from ui.core.model_cache import ModelCache, model_bytes


@pytest.fixture
def files(tmp_path):
    """Three weights files of different sizes: {name: path}."""
    paths = {}
    for arch in ("c8p", "c16p", "c8pc8"):
        paths[arch] = tmp_path / f"{arch}.npz"
        save_model(cnn.build_model(arch, seed=0), paths[arch])
    return paths


def size(path):
    return model_bytes(cnn.load_model(path))


def test_the_cache_holds_models_up_to_its_bytes_and_drops_the_least_recently_used(files):
    c8p, c16p, c8pc8 = files.values()
    cache = ModelCache(max_bytes=size(c8p) + size(c16p))
    first = cache.get(c8p)
    assert cache.get(c8p) is first and cache.loads == 1                 # a hit reads nothing
    cache.get(c16p)
    assert cache.bytes == size(c8p) + size(c16p)
    cache.get(c8p)                                                       # c8p is now the most recently used
    cache.get(c8pc8)                                                     # no room: c16p goes
    assert cache.bytes <= cache.max_bytes and cache.loads == 3
    assert cache.get(c8p) is first and cache.loads == 3
    cache.get(c16p)
    assert cache.loads == 4


def test_a_model_larger_than_the_cache_is_still_served(files):
    cache = ModelCache(max_bytes=1)
    model = cache.get(files["c16p"])
    assert model.arch == "c16p" and cache.bytes == model_bytes(model)


def test_a_file_that_failed_is_not_read_again_until_it_changes(files, tmp_path, monkeypatch):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not weights")
    cache = ModelCache(max_bytes=2**30)
    reads = []
    real = cnn.load_model
    monkeypatch.setattr(cnn, "load_model", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    for _ in range(5):
        with pytest.raises(cnn.WeightsError, match="not a weights file"):
            cache.get(bad)
    assert len(reads) == 1                                               # one read for five renders
    bad.write_bytes(files["c8p"].read_bytes())                           # fixed: a new size and time
    assert cache.get(bad).arch == "c8p" and len(reads) == 2


def test_a_file_replaced_on_disk_is_loaded_afresh(files):
    cache = ModelCache(max_bytes=2**30)
    path = files["c8p"]
    assert cache.get(path).arch == "c8p"
    os.replace(files["c16p"], path)
    assert cache.get(path).arch == "c16p"
