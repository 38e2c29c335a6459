"""canvas_to_mnist (Draw page preprocessing) and the synthetic drawing generator."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnn.inputs.canvas import canvas_to_mnist, canvas_to_mnist_steps, stroke_width
from cnn.studies.synth import TEMPLATES, draw_digit, main, make_drawings, measure
from helpers import assert_mnist_like, centre_of_mass, ink_box_side


def canvas(size=280):
    """A blank canvas as streamlit-drawable-canvas returns it: black, opaque RGBA."""
    img = np.zeros((size, size, 4), np.uint8)
    img[..., 3] = 255
    return img


def strokes(lines, size=280, width=20):
    """RGBA canvas with white polylines drawn with a round brush."""
    img = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(img)
    for line in lines:
        pen.line(line, fill=255, width=width, joint="curve")
        for x, y in (line[0], line[-1]):
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    out = canvas(size)
    out[..., :3] = np.asarray(img)[..., None]
    return out


SEVEN = [[(80, 60), (200, 60), (120, 230)]]


def test_a_drawn_seven_becomes_an_mnist_like_image():
    x = canvas_to_mnist(strokes(SEVEN))
    assert_mnist_like(x)
    cy, cx = centre_of_mass(x)
    assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75
    assert ink_box_side(x) == 20
    assert 0.05 < x.mean() < 0.25            # MNIST digits: 0.13 on average


def test_steps_are_returned_for_the_ui():
    steps = canvas_to_mnist_steps(strokes(SEVEN))
    assert set(steps) >= {"cropped", "scaled", "centred"}
    assert max(steps["scaled"].shape) == 20 and steps["centred"].shape == (28, 28)
    assert steps["cropped"].ndim == 2 and steps["cropped"].max() == 1
    np.testing.assert_array_equal(steps["centred"], canvas_to_mnist(strokes(SEVEN)))


def faint_noise():
    img = canvas()
    img[..., :3] = np.random.default_rng(0).integers(0, 40, (280, 280, 1))  # below the ink threshold
    return img


@pytest.mark.parametrize("image", [canvas(), np.zeros((280, 280, 4), np.uint8), faint_noise(), None],
                         ids=["black", "transparent", "faint-noise", "none"])
def test_no_ink_gives_none(image):
    assert canvas_to_mnist(image) is None
    assert canvas_to_mnist_steps(image) == {"cropped": None, "scaled": None, "centred": None}


def _bad_inputs():
    seven = strokes(SEVEN)
    dot = strokes([[(140, 140), (140, 140)]])
    full = canvas()
    full[..., :3] = 255
    corner = strokes([[(3, 3), (12, 8), (5, 14)]], width=3)
    thin = strokes([[(140, 20), (150, 260)]], width=1)
    tiny = np.zeros((5, 5, 4), np.uint8)
    tiny[..., 3] = 255
    tiny[2, 2, :3] = 255
    huge = np.asarray(Image.fromarray(seven).resize((1000, 1000)))
    transparent = seven.copy()
    transparent[..., 3] = seven[..., 0]                         # background not baked in
    nan = seven.astype(np.float32) / 255
    nan[0, 0] = np.nan
    return {  # name: (input, has ink)
        "float01": (seven.astype(np.float32) / 255, True),
        "float255": (seven.astype(np.float64), True),
        "float-nan": (nan, True),
        "gray2d": (seven[..., 0], True),
        "gray-hw1": (seven[..., :1], True),
        "rgb": (seven[..., :3], True),
        "bool": (seven[..., 0] > 0, True),
        "int64": (seven.astype(np.int64), True),
        "list": (seven[::10, ::10, 0].tolist(), True),
        "transparent-bg": (transparent, True),
        "tiny-5x5": (tiny, True),
        "huge-1000": (huge, True),
        "wide-rect": (strokes(SEVEN, size=280)[:100], True),
        "single-dot": (dot, True),
        "full-ink": (full, True),
        "corner-scribble": (corner, True),
        "very-thin-line": (thin, True),
        "empty-array": (np.zeros((0, 0, 4), np.uint8), False),
        "1d": (np.ones(100, np.uint8), False),
        "4d": (np.ones((2, 28, 28, 4), np.uint8), False),
        "5-channels": (np.ones((28, 28, 5), np.uint8), False),
        "string": ("not an image", False),
        "ragged": ([[1, 2], [3]], False),
        "object": (np.array([[object()]]), False),
    }


BAD = _bad_inputs()


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_never_raises(name):
    image, has_ink = BAD[name]
    x = canvas_to_mnist(image)
    if has_ink:
        assert_mnist_like(x)
        assert ink_box_side(x) <= 20
    else:
        assert x is None


@pytest.mark.parametrize("name", ["float01", "gray2d", "rgb", "huge-1000", "transparent-bg", "int64"])
def test_other_formats_give_the_same_digit(name):
    ref = canvas_to_mnist(strokes(SEVEN))
    assert np.abs(canvas_to_mnist(BAD[name][0]) - ref).mean() < 0.03


def test_stroke_width_is_normalised():
    """A small digit with a fat brush and a big one with a thin brush both get MNIST-like strokes."""
    small = strokes([[(120, 120), (160, 120), (132, 170)]], width=24)
    big = strokes([[(20, 20), (260, 20), (100, 270)]], width=6)
    for image in (small, big, strokes(SEVEN)):
        x = canvas_to_mnist(image)
        up = np.asarray(Image.fromarray((x * 255).astype(np.uint8)).resize((112, 112), Image.BILINEAR))
        assert 1.8 < stroke_width(up > 127) / 4 < 3.2       # MNIST: 2.4 on average


def test_stroke_width_estimate():
    mask = np.zeros((200, 200), bool)
    mask[20:180, 95:105] = True
    assert stroke_width(mask) == pytest.approx(10, rel=0.2)
    assert stroke_width(np.zeros((5, 5), bool)) == 0


def test_synthetic_digits_are_centred_and_scaled():
    images, labels = make_drawings(3, seed=1)
    for image in images:
        x = canvas_to_mnist(image)
        assert_mnist_like(x)
        cy, cx = centre_of_mass(x)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
        assert ink_box_side(x) == 20


def test_synth_is_deterministic():
    a, la = make_drawings(2, seed=7, size=120)
    b, lb = make_drawings(2, seed=7, size=120)
    c, _ = make_drawings(2, seed=8, size=120)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_synth_draws_every_digit_like_the_canvas():
    images, labels = make_drawings(2, seed=0)
    assert images.shape == (20, 280, 280, 4) and images.dtype == np.uint8
    assert sorted(set(labels.tolist())) == list(range(10))
    assert (images[..., 3] == 255).all()
    assert (images[..., 0] == images[..., 1]).all() and (images[..., 0] == images[..., 2]).all()
    for image in images:
        assert 0.005 < (image[..., 0] > 127).mean() < 0.5     # ink, and not a flood
        assert canvas_to_mnist(image) is not None


@pytest.mark.parametrize("digit", range(10))
def test_every_template_renders(digit):
    rng = np.random.default_rng(0)
    for _ in range(3 * len(TEMPLATES[digit])):
        assert draw_digit(digit, rng, size=140)[..., 0].max() == 255


class AlwaysThree:
    def predict_proba(self, x):
        assert x.shape[1:] == (28, 28) and x.dtype == np.float32
        p = np.zeros((len(x), 10), np.float32)
        p[:, 3] = 1
        return p


def test_measure_counts_per_digit():
    r = measure(AlwaysThree(), n_per_digit=2, seed=0, size=140, batch=7)
    assert r["n"] == 20
    assert r["per_digit"] == [0.0] * 3 + [1.0] + [0.0] * 6
    assert r["overall"] == pytest.approx(0.1)
    assert r["confusions"][(0, 3)] == 2 and (3, 3) not in r["confusions"]


def test_measurement_command(monkeypatch, capsys):
    monkeypatch.setattr("cnn.files.load_model", lambda path: AlwaysThree())      # the tools load models through it
    main(["--model", "whatever.npz", "--n", "1", "--size", "140"])
    out = capsys.readouterr().out
    assert "digit 3: 100.0%" in out and "overall accuracy: 10.00%" in out
