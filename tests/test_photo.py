"""photo_to_mnist (issue 17): photos and scans of a digit, every kind of input it takes, and what it refuses."""
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from cnn import load_model
from cnn.files.mnist import load_subset
from cnn.inputs.canvas import ink_box
from cnn.inputs.photo import MAX_BYTES, WORK, photo_to_mnist, photo_to_mnist_steps
from cnn.studies.photobench import CONDITIONS, main, measure, render
from helpers import assert_mnist_like, centre_of_mass, ink_box_side


@pytest.fixture(scope="module")
def model():
    return load_model("weights/default.npz")


@pytest.fixture(scope="module")
def digits():
    """The committed subset's TEST digits (never training ones), (N, 28, 28) in [0, 1], and their labels."""
    x, y = load_subset()[2:]
    return x[:40].astype(np.float32) / 255, y[:40]


def paper(size=(300, 240), level=225):
    return Image.new("L", size, level)


def pen_digit(text_lines, size=(300, 240), width=9, ink=30, level=225):
    """Dark pen strokes on light paper (gray PIL image)."""
    img = paper(size, level)
    pen = ImageDraw.Draw(img)
    for line in text_lines:
        pen.line(line, fill=ink, width=width, joint="curve")
    return img


ZERO = [[(150 + 45 * np.cos(a), 120 + 70 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 60)]]
SEVEN = [[(100, 50), (200, 50), (130, 200)]]


def test_a_photo_of_a_digit_becomes_an_mnist_like_image():
    x = photo_to_mnist(pen_digit(SEVEN))
    assert_mnist_like(x)
    cy, cx = centre_of_mass(x)
    assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75
    assert ink_box_side(x) == 20


def test_every_step_is_kept_for_the_app():
    steps = photo_to_mnist_steps(pen_digit(SEVEN))
    assert steps["reason"] is None
    assert steps["photo"].shape == (240, 300) and steps["ink"].shape == (240, 300)
    assert max(steps["scaled"].shape) == 20 and steps["centred"].shape == (28, 28)
    assert steps["ink"][120, 20] < 0.05 and steps["ink"][50, 150] > 0.5     # paper black, ink bright


def test_grey_levels_are_kept_and_a_thin_loop_stays_closed():
    """A 0 in a thin, faint pen: no hard threshold, so the result has grey edges and the loop is whole."""
    x = photo_to_mnist(pen_digit(ZERO, width=3, ink=150, level=200))
    assert_mnist_like(x)
    inked = x[x > 0.02]
    assert np.mean((inked > 0.1) & (inked < 0.9)) > 0.2                   # many grey pixels, as in MNIST
    assert x[12:16, 12:16].max() < 0.2                                      # a hole in the middle
    assert x[3:8, 14].max() > 0.5 and x[20:25, 14].max() > 0.5              # ink above and below it
    assert all(x[r, :14].max() > 0.5 and x[r, 14:].max() > 0.5 for r in range(8, 21))  # and left and right


def test_dark_on_light_and_light_on_dark_give_the_same_input(digits):
    x = digits[0][0]
    big = Image.fromarray(np.uint8(x * 255)).resize((200, 200), Image.BICUBIC)
    light_on_dark = photo_to_mnist(big)
    dark_on_light = photo_to_mnist(Image.fromarray(255 - np.asarray(big)))
    assert np.abs(light_on_dark - dark_on_light).mean() < 0.01


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_photographed_mnist_test_digits_are_read(model, digits, name):
    """Each kind of photo (blur, noise, lighting, paper, JPEG, rotation, ruled lines, sizes, margins) of 40
    MNIST test digits: the default model reads at least 90% right through photo_to_mnist."""
    images, labels = digits
    xs = [photo_to_mnist(render(img, np.random.default_rng([1, i]), **CONDITIONS[name])) for i, img in
          enumerate(images)]
    assert sum(x is None for x in xs) <= 1
    ok = [x is not None and model.predict(x[None])[0] == y for x, y in zip(xs, labels, strict=True)]
    assert np.mean(ok) >= 0.9


@pytest.mark.parametrize("kind", ["L", "RGB", "RGBA", "uint8", "rgb array", "rgba array", "float array",
                                  "uint16 array", "png bytes", "jpeg bytes", "file", "path"])
def test_every_kind_of_input_gives_the_same_digit(kind, tmp_path):
    gray = pen_digit(SEVEN)
    reference = photo_to_mnist(gray)
    if kind in ("png bytes", "jpeg bytes", "file", "path"):
        buf = io.BytesIO()
        gray.convert("RGB").save(buf, "JPEG" if kind == "jpeg bytes" else "PNG")
        image = {"png bytes": buf.getvalue(), "jpeg bytes": buf.getvalue(), "file": buf}.get(kind)
        if kind == "path":
            image = tmp_path / "seven.png"
            image.write_bytes(buf.getvalue())
    else:
        a = np.asarray(gray)
        image = {"L": gray, "RGB": gray.convert("RGB"), "RGBA": gray.convert("RGBA"), "uint8": a,
                 "rgb array": np.dstack([a] * 3), "rgba array": np.dstack([a] * 3 + [np.full_like(a, 255)]),
                 "float array": a / np.float32(255), "uint16 array": a.astype(np.uint16) * 257}[kind]
    x = photo_to_mnist(image)
    assert_mnist_like(x)
    assert np.abs(x - reference).mean() < 0.02


@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255)])
def test_ink_on_a_transparent_background(ink):
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(70, 40), (140, 40), (90, 170)], fill=(*ink, 255), width=8)
    x = photo_to_mnist(img)
    assert_mnist_like(x)
    assert ink_box_side(x) == 20


def test_a_large_jpeg_is_decoded_at_reduced_size():
    img = pen_digit([[(p[0] * 10, p[1] * 10) for p in SEVEN[0]]], size=(3000, 2400), width=80).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    steps = photo_to_mnist_steps(buf.getvalue())
    assert max(steps["photo"].shape) <= WORK and steps["centred"] is not None


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("image", [paper(), Image.fromarray(np.uint8(np.random.default_rng(0).normal(200, 12,
                                   (240, 300)).clip(0, 255))), np.zeros((50, 50)), np.full((50, 50, 3), 255)])
def test_no_ink_is_refused_with_a_reason(image):
    steps = photo_to_mnist_steps(image)
    assert steps["centred"] is None and steps["reason"].startswith("No digit found")


def test_two_digits_far_apart_are_refused():
    img = pen_digit([[(40, 60), (40, 180)], [(200, 60), (260, 60), (220, 180)]], size=(300, 240))
    steps = photo_to_mnist_steps(img)
    assert steps["centred"] is None and "More than one digit" in steps["reason"]


def test_a_speck_far_from_the_digit_is_left_out():
    img = pen_digit(SEVEN)
    ImageDraw.Draw(img).ellipse([10, 200, 14, 204], fill=30)
    x = photo_to_mnist(img)
    assert np.abs(x - photo_to_mnist(pen_digit(SEVEN))).max() < 0.05


@pytest.mark.parametrize("size, fmt", [((10_000, 5_000), "PNG"), ((10_000, 5_000), "JPEG"), ((6_000, 5_000), "PNG")])
def test_an_image_far_too_large_is_refused_before_it_is_decoded(monkeypatch, size, fmt):
    """Real, valid images, small on disk: over 40 million pixels, or a PNG that would take more than
    MAX_DECODED_BYTES decoded (whole, unlike a JPEG), is refused from the file's header and never decoded."""
    buf = io.BytesIO()
    Image.new("1" if fmt == "PNG" else "L", size).save(buf, fmt)
    assert len(buf.getvalue()) < MAX_BYTES

    def no_decoding(self):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    steps = photo_to_mnist_steps(buf.getvalue())
    assert steps["centred"] is None and f"{size[0]:,} x {size[1]:,} pixels" in steps["reason"]


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation():
    img = pen_digit(SEVEN, size=(300, 240))
    upright = photo_to_mnist(img)
    exif = Image.Exif()
    exif[0x0112] = 6                                                        # "turn 90 degrees clockwise to view"
    buf = io.BytesIO()
    img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=95, exif=exif)
    assert np.abs(photo_to_mnist(buf.getvalue()) - upright).mean() < 0.02


def test_a_file_too_large_is_refused_unread(monkeypatch):
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("the file was opened"))
    steps = photo_to_mnist_steps(io.BytesIO(bytes(MAX_BYTES + 1)))
    assert steps["centred"] is None and "MB" in steps["reason"]


@pytest.mark.parametrize("image", [b"not an image", np.zeros(5), np.zeros((4, 4)), np.zeros((40, 40, 7)),
                                   np.array([["a"] * 20] * 20), Image.new("L", (4000, 3), 0)])
def test_what_is_not_a_photo_gets_a_reason(image):
    steps = photo_to_mnist_steps(image)
    assert steps["centred"] is None and steps["reason"]


def test_photo_bench_reports_both_paths(model, capsys):
    results = measure(model, n=3, conditions={"clean": {}})
    assert set(results) == {("MNIST test", "clean"), ("canvas drawings", "clean")}
    photo, canvas, refused = results["MNIST test", "clean"]
    assert 0 <= canvas <= photo == 1.0 and refused == 0
    main(["--n", "1"])
    out = capsys.readouterr().out
    assert "phone photo" in out and "mean of the conditions" in out


def test_render_is_deterministic(digits):
    a, b = (render(digits[0][0], np.random.default_rng([0, 3]), **CONDITIONS["phone photo"]) for _ in range(2))
    assert np.array_equal(a, b)
    box = ink_box(255 - a[..., 0] > 60)
    assert box is not None


@pytest.mark.parametrize("seed", range(5))
def test_pieces_are_the_8_connected_components(seed):
    """cnn.inputs.pieces labels by propagating the smallest index with pointer jumping; a plain flood fill agrees."""
    from cnn.inputs.pieces import _components
    mask = np.random.default_rng(seed).random((40, 50)) < 0.45
    labels = _components(mask)
    seen = np.zeros_like(mask)
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        piece, todo = [], [start]
        seen[start] = True
        while todo:
            r, c = todo.pop()
            piece.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (r + dr, c + dc)
                    if 0 <= n[0] < 40 and 0 <= n[1] < 50 and mask[n] and not seen[n]:
                        seen[n] = True
                        todo.append(n)
        rows, cols = zip(*piece, strict=True)
        assert len(set(labels[rows, cols])) == 1                         # one label for the piece ...
        assert np.count_nonzero(labels == labels[start]) == len(piece)  # ... and for nothing else
    assert (labels[~mask] == -1).all()

