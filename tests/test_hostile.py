"""Hostile input (issue 12): weights files built to exhaust memory or crash the app, architectures over the
compute budget, canvas data no canvas sends. Each is refused with a clear message, cheaply, and never reaches
another visitor. The hostile files are built here, never committed."""
import base64
import io
import json
import re
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import cnn
from cnn.engine.arch import MAX_COST, MOVE_COST, cost, parse_arch
from cnn.files.weights import model_arrays, to_bytes
from ui.core.canvas_input import CanvasError, canvas_rgba

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ORIGIN = ["c8p", "c16p", "c8pc8", "c8pc16", "c16pc8", "c16pc16", "c8pc8p", "c8pc16p", "c16pc8p", "c16pc16p"]


def npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def good_arrays(**meta_change):
    """{member name: .npy bytes} of a valid c2p weights file, its metadata changed as given."""
    arrays = model_arrays(cnn.build_model("c2p", seed=1))
    meta = {**json.loads(str(arrays["meta"])), **meta_change}
    arrays["meta"] = np.array(json.dumps(meta))
    return {f"{k}.npy": npy(a) for k, a in arrays.items()}


def zipped(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def bzip2_bomb(mib=256):
    """A valid weights file plus one bzip2 member of `mib` MiB of zeros: about 56 KB on disk for 256 MiB."""
    buf = io.BytesIO(zipped(good_arrays()))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_BZIP2) as z, z.open("junk.npy", "w", force_zip64=True) as f:
        zeros = bytes(2**20)
        for _ in range(mib):
            f.write(zeros)
    return buf.getvalue()


def huge_shape():
    """A member whose .npy header declares a 4 TiB array, holding a few bytes."""
    members = good_arrays()
    header = npy(np.zeros(2, np.float32))[:-8].replace(b"(2,)", b"(1099511627776,)")
    members["0.W.npy"] = header + bytes(8)
    return zipped(members)


def lying_directory():
    """A member whose zip directory claims 4 TiB of uncompressed data."""
    data = bytearray(zipped(good_arrays()))
    at = data.rfind(b"PK\x01\x02")                         # the last central directory entry
    data[at + 24:at + 28] = (2**32 - 1).to_bytes(4, "little")
    return bytes(data)


def deep_nesting(depth=100_000):
    members = good_arrays()
    text = json.loads(str(np.load(io.BytesIO(members["meta.npy"]))))
    raw = json.dumps(text)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    members["meta.npy"] = npy(np.array(raw))
    return zipped(members)


def raw_meta(text):
    members = good_arrays()
    members["meta.npy"] = npy(np.array(text))
    return zipped(members)


HOSTILE = {     # name -> (bytes, part of the message)
    "a bzip2 member of 256 MiB zeros": (lambda: bzip2_bomb(), "only stored or deflate"),
    "an lzma member": (lambda: zipped(good_arrays(), zipfile.ZIP_LZMA), "only stored or deflate"),
    "a member declaring a 4 TiB shape": (huge_shape, "header implies"),
    "a directory claiming 4 TiB": (lying_directory, "refused unread"),
    "history of [1]": (lambda: zipped(good_arrays(history=[1])), "history[0] must be an object"),
    "test_acc of 'x'": (lambda: zipped(good_arrays(history=[{"epoch": 1, "test_acc": "x"}])), "test_acc must be"),
    "test_acc of a dict": (lambda: zipped(good_arrays(history=[{"test_acc": {"a": 1}}])), "test_acc must be"),
    "test_acc of 10**400": (lambda: zipped(good_arrays(history=[{"test_acc": 10**400}])), "test_acc must be"),
    "a 5,000-digit integer": (lambda: raw_meta('{"format_version": 1, "x": ' + "9" * 5000 + "}"),
                              "unreadable metadata"),
    "100,000-deep nesting": (deep_nesting, "unreadable metadata"),
    "a 15-million-character key": (lambda: zipped(good_arrays(extra="x" * 15_000_000), zipfile.ZIP_DEFLATED),
                                   "at most 500,000"),
    "input_offset of 'nan'": (lambda: zipped(good_arrays(input_offset="nan")), "input_offset must be a number"),
    "input_offset of 1e300": (lambda: zipped(good_arrays(input_offset=1e300)), "input_offset must be a number"),
    "a NaN constant": (lambda: raw_meta('{"format_version": 1, "arch": "c2p", "activation": "relu", '
                                        '"input_offset": NaN}'), "unreadable metadata"),
    "a network over the compute budget": (lambda: zipped(good_arrays(arch="c256c2")), "compute budget"),
    "seed of -1": (lambda: zipped(good_arrays(seed=-1)), "seed must be"),
    "settings of a list": (lambda: zipped(good_arrays(settings=[1, 2])), "settings must be an object"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_weights_files_are_refused_cheaply_with_a_weights_error(case):
    make, fragment = HOSTILE[case]
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(cnn.WeightsError, match=re.escape(fragment)):
            cnn.load_model(data, name="upload.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(data) + 20 * 2**20, f"{peak / 2**20:.0f} MB allocated to refuse a {len(data):,}-byte file"


def test_the_bzip2_bomb_is_small_on_disk():
    assert len(bzip2_bomb()) < 100_000                                 # the 56 KB file, give or take


def test_unknown_metadata_keys_are_dropped_and_never_saved_again():
    data = zipped(good_arrays(extra={"anything": [1, 2]}, settings={"epochs": 2, "arch": "c8p"}))
    model = cnn.load_model(data)
    assert "extra" not in model.meta and model.meta["settings"] == {"epochs": 2}
    meta = json.loads(str(np.load(io.BytesIO(to_bytes(model)))["meta"]))
    assert "extra" not in meta and "arch" not in meta["settings"]


def test_deflated_files_from_np_savez_compressed_still_load():
    arrays = model_arrays(cnn.build_model("c2p", seed=3))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    model = cnn.load_model(buf.getvalue())
    np.testing.assert_array_equal(model.params[0]["W"], arrays["0.W"])


# ---------------------------------------------------------------- the compute budget

def test_every_origin_configuration_and_the_shipped_default_fit_the_budget():
    for arch in [*ORIGIN, "c32pc64pd128"]:
        parse_arch(arch)
    assert cnn.load_model(Path(__file__).resolve().parents[1] / "weights" / "default.npz").arch == "c32pc64pd128"


@pytest.mark.parametrize("arch", ["c256c2", "c128pc128", "c64c64c64", "c256c256"])
def test_a_network_over_the_budget_is_refused_naming_the_budget_and_its_cost(arch):
    macs, moved = cost([(a[0], int(a[1:]) if a[1:] else None) for a in _tokens(arch)])
    with pytest.raises(cnn.ArchError) as e:
        parse_arch(arch)
    assert f"{MAX_COST:,}" in str(e.value) and f"{macs + MOVE_COST * moved:,}" in str(e.value)
    with pytest.raises(cnn.ArchError):
        cnn.build_model(arch)


def _tokens(arch):
    return re.findall(r"c\d+|p|d\d+", arch)


def test_the_sidebar_refuses_a_network_over_the_budget():
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.sidebar.text_input[0].set_value("c256c256")
    next(b for b in at.sidebar.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception
    assert any("compute budget" in e.value for e in at.sidebar.error)
    assert "job" not in at.session_state


# ---------------------------------------------------------------- canvas data

def png(image, fmt="PNG"):
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def test_a_huge_png_is_refused_before_it_is_decoded():
    data = png(Image.new("RGBA", (4000, 4000), (0, 0, 0, 255)))
    tracemalloc.start()
    try:
        with pytest.raises(CanvasError, match="4000x4000"):
            canvas_rgba(data, 280)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20                                            # decoded, it would be 64 MB


@pytest.mark.parametrize("data,fragment", [
    (b"not an image at all", "could not be read"),
    (png(Image.new("RGB", (280, 280)), "JPEG"), "JPEG"),
    (png(Image.new("RGBA", (280, 100))), "280x100"),
    (png(Image.new("RGBA", (280, 280)))[:200], "could not be read"),
    (bytes(3 * 2**20), "at most 2 MB"),
])
def test_data_no_canvas_sends_is_refused(data, fragment):
    with pytest.raises(CanvasError, match=fragment):
        canvas_rgba(data, 280)


def test_a_retina_canvas_is_kept_at_canvas_size():
    rgba = canvas_rgba(png(Image.new("RGBA", (840, 840), (255, 255, 255, 255))), 280)
    assert rgba.shape == (280, 280, 4) and rgba.dtype == np.uint8 and canvas_rgba(None, 280) is None


def data_url(data):
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_the_draw_page_refuses_a_huge_canvas_image_and_keeps_nothing(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    big = png(Image.new("RGBA", (4000, 4000), (255, 255, 255, 255)))
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": []}, "data": data_url(big)}, "backgroundFit": None}
    at.run()
    assert not at.exception, at.exception
    assert any("cannot be used" in w.value and "4000x4000" in w.value for w in at.warning)
    assert at.session_state["drawing"] is None and at.session_state["drawing_rgba"] is None


def test_a_hostile_upload_through_the_app_is_refused_and_the_session_carries_on(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    for name, make in [("bomb.npz", bzip2_bomb), ("history.npz", HOSTILE["history of [1]"][0])]:
        at.file_uploader(key="upload_model").set_value((name, make(), "application/octet-stream")).run()
        assert not at.exception, at.exception
        assert any("Not loaded" in e.value and name in e.value for e in at.error)
        assert at.session_state["model_key"] == "file:default" and not at.session_state["session_models"]
    for page in ("app_pages/inside.py", "app_pages/evaluate.py", "app_pages/draw.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_a_malformed_file_in_the_weights_folder_is_listed_as_unusable(app_env, tmp_path, monkeypatch):
    import shutil
    folder = tmp_path / "weights"
    shutil.copytree(app_env, folder)
    (folder / "broken.npz").write_bytes(zipped(good_arrays(history=[{"test_acc": "x"}])))
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="model_picker_draw")
    assert "broken (cannot be loaded)" in picker.options


def test_a_session_keeps_a_bounded_number_of_models(app_env, tmp_path, monkeypatch):
    from helpers import new_app, start_training
    from ui.state.session import MAX_MODELS
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    models = {f"m{i}": cnn.build_model("c2p", seed=i) for i in range(MAX_MODELS)}
    at = start_training(new_app(session_models=models), "c2p")
    assert not at.exception, at.exception
    assert any(f"holds {MAX_MODELS} models" in e.value for e in at.sidebar.error) and "job" not in at.session_state
    at.file_uploader(key="upload_model").set_value(("m.npz", to_bytes(models["m0"]), "application/octet-stream"))
    at.run()
    assert any("Not loaded" in e.value and f"holds {MAX_MODELS} models" in e.value for e in at.error)
    assert len(at.session_state["session_models"]) == MAX_MODELS
