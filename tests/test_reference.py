"""The plain path beside the fast one: cnn/engine/reference.py (loops, one output value at a time) computes the
same numbers as the fast layers of cnn/engine/layers.py, forward and backward, and the fast convolution's two
ways of copying windows (by offsets for few channels, by a strided view for more) agree with each other."""
import numpy as np
import pytest

from cnn.engine import layers, reference

# (N, H, W, C_in, C_out): one and few channels (copies by offsets), many (one view), odd sizes, one output pixel
SHAPES = [(2, 6, 6, 1, 3), (1, 7, 5, 2, 2), (2, 8, 8, 3, 4), (2, 6, 7, 4, 2), (1, 9, 9, 6, 5), (3, 4, 4, 5, 1),
          (1, 3, 3, 1, 1)]


def draw(shape, seed):
    rng = np.random.default_rng(seed)
    n, h, w, c_in, c_out = shape
    conv = layers.Conv3x3(c_in, c_out, rng, dtype=np.float64)
    conv.params["b"][...] = rng.standard_normal(c_out)
    return rng, rng.standard_normal((n, h, w, c_in)), conv


@pytest.mark.parametrize("shape", SHAPES)
def test_the_fast_convolution_computes_the_plain_one(shape):
    rng, x, conv = draw(shape, 0)
    W, b = conv.params["W"], conv.params["b"]
    out, cache = conv.forward(x, keep=True)
    np.testing.assert_allclose(out, reference.conv3x3_forward(x, W, b), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, grads = conv.backward(dout, cache)
    plain_dx, plain_dW, plain_db = reference.conv3x3_backward(dout, x, W)
    np.testing.assert_allclose(dx, plain_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["W"], plain_dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["b"], plain_db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 4, 4, 3), (1, 5, 7, 2), (2, 6, 6, 1), (1, 3, 3, 4)])
@pytest.mark.parametrize("ties", [False, True])
def test_the_fast_pooling_computes_the_plain_one(shape, ties):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    if ties:                                                           # whole windows equal: the first one wins
        x = rng.integers(0, 2, shape).astype(np.float64)
    pool = layers.MaxPool2()
    out, cache = pool.forward(x, keep=True)
    np.testing.assert_array_equal(out, reference.maxpool2_forward(x))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(pool.backward(dout, cache)[0], reference.maxpool2_backward(dout, x))


@pytest.mark.parametrize("shape", SHAPES[:-1] + [(2, 5, 5, 1, 2)])
def test_the_fused_layer_computes_the_plain_convolution_then_pooling(shape):
    rng, x, conv = draw(shape, 2)
    fused = layers.ConvPool.__new__(layers.ConvPool)
    fused.params = conv.params                                         # the same weights
    W, b = conv.params["W"], conv.params["b"]
    z = reference.conv3x3_forward(x, W, b)
    out, cache = fused.forward(x, keep=True)
    np.testing.assert_allclose(out, reference.maxpool2_forward(z), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, grads = fused.backward(dout, cache)
    plain_dx, plain_dW, plain_db = reference.conv3x3_backward(reference.maxpool2_backward(dout, z), x, W)
    np.testing.assert_allclose(dx, plain_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["W"], plain_dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["b"], plain_db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 16])
@pytest.mark.parametrize("size, stride", [(3, 1), (4, 2)])           # im2col3x3's windows, patches4x4's
def test_the_two_ways_of_copying_windows_agree(channels, size, stride):
    x = np.random.default_rng(channels).standard_normal((2, 11, 10, channels)).astype(np.float32)
    rows, cols = ((11 - 2, 10 - 2) if stride == 1 else ((11 - 2) // 2, (10 - 2) // 2))
    by_offsets = layers.windows_by_offsets(x, size, stride, rows, cols)
    by_view = layers.windows_by_view(x, size, stride, rows, cols)
    assert by_offsets.shape == by_view.shape == (2, rows, cols, size * size * channels)
    np.testing.assert_array_equal(by_offsets, by_view)
    expected = layers.windows_by_offsets if channels < layers.FEW_CHANNELS else layers.windows_by_view
    np.testing.assert_array_equal(layers.windows(x, size, stride, rows, cols), expected(x, size, stride, rows, cols))
    # each window is the input's size x size block at (stride * row, stride * col), in (i, j, c) order
    block = x[1, stride * 3:stride * 3 + size, stride * 2:stride * 2 + size, :]
    np.testing.assert_array_equal(by_view[1, 3, 2], block.reshape(-1))
    np.testing.assert_array_equal(by_offsets[1, 3, 2], block.reshape(-1))


def test_the_math_panel_shows_the_plain_version_of_convolution_and_pooling():
    from ui.panels.inside import math_panel

    shown = {f.__name__ for functions in math_panel.PLAIN.values() for f in functions}
    assert shown == {"conv3x3_forward", "conv3x3_backward", "maxpool2_forward", "maxpool2_backward"}
    assert set(math_panel.PLAIN) <= {lesson[0] for lesson in math_panel.LESSONS}      # each beside its lesson
