"""Reliability (issue 6): bad weights files (the engine's table, tests/helpers.py BAD_WEIGHTS, refused by the
engine in tests/test_engine.py) in the weights folder and uploaded on the Draw page: never used, the model in use
stays. The upload widget itself: tests/test_app_learn.py."""


import cnn
from helpers import BAD_WEIGHTS, new_app


def test_bad_files_in_the_weights_folder_are_listed_as_unusable_and_never_chosen(weights):
    for i, (data, _) in enumerate(BAD_WEIGHTS.values()):
        (weights / f"bad-{i:02d}.npz").write_bytes(data)
    leftovers = {".mine.npz.k2j4h1.tmp": b"PK\x03\x04half a file", "._default.npz": b"\x00\x05\x16\x07",
                 "mine.npz.tmp": b"", ".hidden.npz": b"PK"}
    for name, data in leftovers.items():
        (weights / name).write_bytes(data)
    at = new_app()
    assert not at.exception, at.exception
    picker = at.selectbox(key="model_picker_draw")
    assert picker.value == "file:default"
    labels = picker.options
    assert len(labels) == 2 + len(BAD_WEIGHTS)                          # default, c8p and the bad files only
    assert sum("(cannot be loaded)" in label for label in labels) == len(BAD_WEIGHTS)
    assert not [label for label in labels if "tmp" in label or label.startswith(".")]
    for key in ["file:bad-00", "file:bad-04", "file:bad-11"]:            # empty, pickled, NaN weights
        at = picker.set_value(key).run()
        assert not at.exception, at.exception
        assert any("This model cannot be used" in e.value and "Choose another model" in e.value for e in at.error)
        assert not at.metric
        picker = at.selectbox(key="model_picker_draw")
    at = picker.set_value("file:default").run()
    assert not at.exception and not at.error


def test_every_bad_weights_file_uploaded_is_refused_and_the_model_in_use_stays(weights):
    """The engine's table of bad files (tests/test_engine.py), each uploaded on the Draw page (the upload widget is
    tests/test_app_learn.py's), plus a file over the 50 MB limit; a good upload afterwards still works."""
    at = new_app()
    in_use = at.session_state["model_key"]
    too_big = b"PK\x03\x04" + bytes(cnn.files.weights.MAX_BYTES)
    for name, data in [*((f"{case}.npz", data) for case, (data, _) in BAD_WEIGHTS.items()), ("huge.npz", too_big)]:
        at = at.file_uploader(key="upload_model").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, (name, at.exception)
        errors = [e.value for e in at.error]
        expected = BAD_WEIGHTS[name[:-4]][1] if name != "huge.npz" else "weights files are at most 50 MB"
        assert any(e.startswith(f"Not loaded: {name}") and expected in e and "has not changed" in e
                   for e in errors), (name, errors)
        assert at.session_state["model_key"] == in_use and not at.session_state["session_models"]
    good = (weights / "default.npz").read_bytes()
    at = at.file_uploader(key="upload_model").set_value(("good.npz", good, "application/octet-stream")).run()
    assert not at.exception and at.session_state["model_key"] == "session:uploaded-good"
