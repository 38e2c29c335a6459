"""The math, checked: every backward pass against float64 central differences, pooling against loops."""
import numpy as np
import pytest

import cnn
from cnn.engine.layers import Conv3x3, ConvPool, Dense, MaxPool2, ReLU, softmax_cross_entropy

RNG = np.random.default_rng(0)
TOL = 1e-6


def numeric_grad(f, a):
    """Central differences of the scalar f() with respect to every entry of a (changed in place)."""
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        g[idx] = numeric_entry(f, a, idx)
    return g


def numeric_entry(f, a, idx, eps=1e-5):
    old = a[idx]
    a[idx] = old + eps
    up = f()
    a[idx] = old - eps
    down = f()
    a[idx] = old
    return (up - down) / (2 * eps)


def rel_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12)


def check_layer(layer, x, backward=None):
    """Compare backward(dout) with the derivative of sum(forward(x) * dout), for the input and each parameter."""
    out, _ = layer.forward(x)
    dout = RNG.standard_normal(out.shape)
    _, cache = layer.forward(x, keep=True)
    dx, grads = (backward or layer.backward)(dout, cache)
    f = lambda: np.sum(layer.forward(x)[0] * dout)  # noqa: E731
    errors = {"x": rel_error(dx, numeric_grad(f, x))}
    for k, p in layer.params.items():
        errors[k] = rel_error(grads[k], numeric_grad(f, p))
    return errors


def f64(layer):
    for k, p in layer.params.items():
        layer.params[k] = p.astype(np.float64)
    return layer


@pytest.mark.parametrize("layer_class,shape", [
    (Conv3x3, (2, 7, 7, 3)), (Conv3x3, (3, 8, 6, 1)), (Conv3x3, (1, 5, 5, 6)),
    (ConvPool, (2, 8, 8, 3)), (ConvPool, (2, 9, 7, 1)), (ConvPool, (1, 6, 6, 5))])
def test_convolution_gradients(layer_class, shape):
    layer = f64(layer_class(shape[-1], 4, RNG))
    layer.params["b"] = RNG.standard_normal(4)
    errors = check_layer(layer, RNG.standard_normal(shape))
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (2, 9, 7, 1), (3, 13, 13, 4), (2, 28, 28, 1)])
def test_fused_conv_pool_equals_conv_then_pool_including_ties(shape):
    """ConvPool is an optimisation only: same outputs and gradients as Conv3x3 then MaxPool2."""
    fused, conv, pool = f64(ConvPool(shape[-1], 4, RNG)), Conv3x3(shape[-1], 4, RNG), MaxPool2()
    fused.params["W"] = np.round(fused.params["W"] * 2)   # small integers: many tied maxima
    conv.params = fused.params
    x = RNG.integers(-1, 2, shape).astype(np.float64)
    dout = RNG.standard_normal((shape[0], (shape[1] - 2) // 2, (shape[2] - 2) // 2, 4))
    out, cache = fused.forward(x, keep=True)
    c, conv_cache = conv.forward(x, keep=True)
    ref, pool_cache = pool.forward(c, keep=True)
    np.testing.assert_array_equal(out, ref)
    dx, grads = fused.backward(dout, cache)
    ref_dx, ref_grads = conv.backward(pool.backward(dout, pool_cache)[0], conv_cache)
    np.testing.assert_allclose(dx, ref_dx, atol=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads[k], ref_grads[k], atol=1e-9)


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (2, 7, 5, 2)])
def test_maxpool_gradients(shape):
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1   # distinct values, well apart: no ties
    assert max(check_layer(MaxPool2(), x.astype(np.float64)).values()) < TOL


def test_relu_gradients():
    x = RNG.standard_normal((3, 4, 4, 2))
    x[np.abs(x) < 0.01] = 0.5   # central differences are undefined at the kink
    assert max(check_layer(ReLU(), x).values()) < TOL


def test_dense_gradients():
    layer = f64(Dense(12, 5, RNG))
    layer.params["b"] = RNG.standard_normal(5)
    assert max(check_layer(layer, RNG.standard_normal((4, 2, 3, 2))).values()) < TOL


def test_softmax_cross_entropy_gradient_and_stability():
    logits, labels = RNG.standard_normal((5, 10)), RNG.integers(0, 10, 5)
    _, dlogits = softmax_cross_entropy(logits, labels)
    numeric = numeric_grad(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    assert rel_error(dlogits, numeric) < TOL
    loss, d = softmax_cross_entropy(np.array([[1000.0, 0, -1000] + [0] * 7]), np.array([0]))
    assert np.isfinite(loss) and np.isfinite(d).all() and loss < 1e-6


def test_gradient_check_detects_a_wrong_gradient():
    """Negative control: the same check fails when the backward pass is slightly wrong."""
    layer = f64(Conv3x3(2, 3, RNG))

    def wrong_backward(dout, cache):
        dx, grads = layer.backward(dout, cache)
        return dx, {"W": grads["W"] * 1.01, "b": grads["b"]}

    errors = check_layer(layer, RNG.standard_normal((2, 6, 6, 2)), backward=wrong_backward)
    assert errors["W"] > 1e-3 and errors["x"] < TOL


@pytest.mark.parametrize("arch,activation", [("c3p", "relu"), ("c3pc4", "relu"), ("c2d5", "relu"),
                                             ("c3pc2p", "none"), ("c2c2pd4", "none"), ("pc2pp", "relu")])
def test_whole_network_gradients(arch, activation):
    model = cnn.build_model(arch, activation=activation, seed=1, dtype=np.float64)
    x = model.prepare(RNG.random((3, 28, 28)))
    labels = RNG.integers(0, 10, 3)
    loss_of = lambda: softmax_cross_entropy(model.forward(x)[0], labels)[0]  # noqa: E731
    _, grads, _ = model.loss_and_grads(x, labels)
    for layer, g in zip(model.layers, grads, strict=True):
        for k, p in layer.params.items():
            sample = tuple(RNG.integers(0, n, 6) for n in p.shape)   # 6 random entries per array
            numeric = np.array([numeric_entry(loss_of, p, idx) for idx in zip(*sample, strict=True)])
            assert rel_error(g[k][sample], numeric) < 1e-5, (arch, k)
    logits, caches = model.forward(x, keep=True)
    dx, _ = model.backward(softmax_cross_entropy(logits, labels)[1], caches, need_dx=True)
    assert rel_error(dx[0, 10:14, 10:14], numeric_grad(loss_of, x[0, 10:14, 10:14])) < 1e-5


def reference_pool(x, dout):
    """Direct loops over every window; the gradient goes to the first maximum in row-major order."""
    n, h, w, c = x.shape
    out = np.zeros((n, h // 2, w // 2, c))
    dx = np.zeros_like(x)
    for b, i, j, ch in np.ndindex(out.shape):
        window = x[b, 2 * i:2 * i + 2, 2 * j:2 * j + 2, ch]
        out[b, i, j, ch] = window.max()
        wi, wj = divmod(int(window.argmax()), 2)
        dx[b, 2 * i + wi, 2 * j + wj, ch] = dout[b, i, j, ch]
    return out, dx


@pytest.mark.parametrize("shape", [(2, 6, 6, 3), (2, 7, 9, 2), (1, 13, 13, 4), (1, 26, 26, 2)])
def test_maxpool_matches_reference_including_ties(shape):
    x = RNG.integers(0, 3, shape).astype(np.float64)   # only 3 values: most windows have ties
    dout = RNG.standard_normal((shape[0], shape[1] // 2, shape[2] // 2, shape[3]))
    out, cache = MaxPool2().forward(x, keep=True)
    dx, _ = MaxPool2().backward(dout, cache)
    ref_out, ref_dx = reference_pool(x, dout)
    assert out.shape == ref_out.shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(dx, ref_dx)


def test_overfits_32_images(subset):
    x, y = subset["x_train"][:32], subset["y_train"][:32]
    model = cnn.build_model("c8pc8", seed=0)
    config = cnn.TrainConfig(epochs=60, batch_size=8, n_train=32, lr=0.003, lr_decay=1.0)
    cnn.train(model, x, y, x, y, config)
    assert (model.predict(x) == y).mean() == 1.0
