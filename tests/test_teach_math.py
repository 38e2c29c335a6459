"""The math beside the code (Inside the network, "The math"): the code shown is the live source of
cnn/engine/layers.py, every layer kind is covered, and the page renders it without an exception."""
import inspect
import textwrap
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnn.engine import layers
from helpers import APP, TIMEOUT, inside_view
from ui.panels.inside import math_panel


def shown_functions():
    return [f for lesson in math_panel.LESSONS for f in lesson[4]] + math_panel.FUSED_CODE


def test_every_layer_kind_and_its_backward_pass_is_shown():
    names = {f.__qualname__ for f in shown_functions()}
    for cls in (layers.Conv3x3, layers.ConvPool, layers.MaxPool2, layers.ReLU, layers.Dense):
        assert f"{cls.__name__}.forward" in names
    for method in ("Conv3x3.param_grads", "Conv3x3.input_grad", "ConvPool.backward", "MaxPool2.backward",
                   "ReLU.backward", "Dense.backward", "softmax_cross_entropy"):
        assert method in names


def test_the_code_shown_is_the_engines_source_file(app_env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    inside_view(at.switch_page("app_pages/inside.py").run(), "The math")
    assert not at.exception
    shown = [c.value for c in at.code]
    source = Path(layers.__file__).read_text()
    for function in shown_functions():
        live = inspect.getsource(function)
        assert live in source                                # the live source: text of cnn/engine/layers.py on disk
        assert textwrap.dedent(live).rstrip("\n") in shown  # shown whole (dedented), as it is
    assert len(at.latex) >= 2 * len(math_panel.LESSONS)


def test_a_changed_layer_shows_its_new_source(monkeypatch):
    """The source is read when the page runs, not stored: a different function shows different code."""
    def forward(self, x, keep=False):
        return x * 2, None
    monkeypatch.setattr(math_panel.layers.ReLU, "forward", forward)
    assert "x * 2" in math_panel.source(math_panel.layers.ReLU.forward)
