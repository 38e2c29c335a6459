"""Learning from the user, in a real browser: draw a digit, say what it really is, fine-tune, keep the result;
then the stored sample shows on the Evaluate page. Also: a confusion-matrix cell chosen with the mouse opens
its gallery, and a bad model upload is refused. Helpers and launch flags: tests/browser_helpers.py.
The app's data folder (CNN_DATA_DIR) is a temporary folder, so no real user data is touched."""
import re
import sqlite3

import pytest

from browser_helpers import (
    BROWSER_MARKS,
    DIGITS,
    best_guess,
    choose,
    draw,
    exceptions,
    go_to,
    metric,
    open_app,
    prediction,
    screenshot,
    start_server,
    stop_server,
    wait_idle,
    weights_env,
)
from helpers import until

pytestmark = BROWSER_MARKS     # the browser marker; skipped without Chromium unless CI is set

LABEL = "6"          # what the user says their round stroke is (a loop read as a 0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env, _ = weights_env(tmp_path_factory)
    data = tmp_path_factory.mktemp("user-data")
    proc, url, _ = start_server({**env, "CNN_DATA_DIR": str(data)})
    try:
        yield url, data
    finally:
        stop_server(proc)


# the natural size of a loaded image; the number of clearly red pixels in an explanation map (above its colour bar)
SIZE = "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"
RED = """img => img.decode().then(() => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.width).data;
    let n = 0;
    for (let k = 0; k < d.length; k += 4) n += d[k] > d[k + 2] + 60;
    return n;
})"""


def test_correct_a_drawing_finetune_keep_and_see_it_on_the_evaluate_page(app, page):
    from playwright.sync_api import expect
    url, data = app
    open_app(page, url)
    draw(page, DIGITS["0"])
    expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=10_000)
    for key in ("saliency", "occlusion"):                                              # why this guess
        image = page.locator(f'figure[data-name="{key}"] img')
        expect(image).to_be_visible()
        assert image.evaluate(SIZE) == [252, 265]                                      # 28x28 x 9, colour bar
    assert page.locator('figure[data-name="occlusion"] img').evaluate(RED) > 0         # strokes the guess needs
    choose(page, "Wrong? It's a", LABEL)
    page.get_by_role("button", name="Save drawing").click()
    expect(page.get_by_text(f"Saved drawing #1 as a {LABEL}")).to_be_visible(timeout=10_000)
    with sqlite3.connect(data / "drawings.sqlite3") as conn:
        assert conn.execute("SELECT label FROM drawings").fetchall() == [(int(LABEL),)]

    page.get_by_role("button", name="Fine-tune on my 1 drawing").click()
    expect(page.get_by_text(re.compile(r"Fine-tuned in \d+\.\d s"))).to_be_visible(timeout=60_000)
    # the new guess is the label taught (its confidence after one drawing may be under the "sure" line: the verdict
    # itself can be "not sure", the guess beside it is still the digit)
    expect(metric(page, "After fine-tuning")).to_be_visible()
    assert best_guess(page, "After fine-tuning") == LABEL
    screenshot(page, "finetune")
    page.get_by_role("button", name="Keep the fine-tuned model").click()
    wait_idle(page)
    model = page.get_by_test_id("stMain").get_by_role("combobox", name="Model")
    expect(model).to_have_value(re.compile(r"-tuned-1"))
    assert until(lambda: best_guess(page) == LABEL, 10)                # the kept model is the one in use
    assert exceptions(page) == 0

    go_to(page, "Evaluate")
    expect(metric(page, "Drawings stored")).to_have_text("1", timeout=60_000)
    expect(page.get_by_text(f"{LABEL}, read as {LABEL} ✓")).to_be_visible()            # the stored sample
    screenshot(page, "evaluate")
    assert exceptions(page) == 0


def test_a_confusion_cell_chosen_with_the_mouse_opens_its_gallery(app, page):
    from playwright.sync_api import expect
    url, _ = app
    page.goto(url + "/evaluate")
    chart = page.locator(".st-key-confusion_chart .js-plotly-plot")
    chart.wait_for(timeout=60_000)
    wait_idle(page)
    # the pixel centre of the cell (true 5, predicted 3), from Plotly's own axes
    x, y = page.evaluate("""() => { const g = document.querySelector('.st-key-confusion_chart .js-plotly-plot');
        const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, r = g.getBoundingClientRect();
        return [r.left + xa._offset + xa.l2p(3), r.top + ya._offset + ya.l2p(5)]; }""")
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    wait_idle(page)
    expect(page.get_by_role("combobox", name="True digit")).to_have_value("5")
    expect(page.get_by_role("combobox", name="Predicted as")).to_have_value("3")
    gallery = re.compile(r"images? of a 5 read as a 3|No test image of a 5 was read as a 3")
    expect(page.get_by_text(gallery)).to_be_visible()
    assert exceptions(page) == 0


def test_a_file_that_is_not_a_model_is_refused_and_the_model_stays(app, page, tmp_path):
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    model = page.get_by_test_id("stMain").get_by_role("combobox", name="Model")
    before = model.input_value()
    bad = tmp_path / "notes.npz"
    bad.write_bytes(b"these are not weights")
    page.get_by_text("Use a model file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    expect(page.get_by_text(re.compile("Not loaded: notes.npz is not a weights file"))).to_be_visible(timeout=10_000)
    assert model.input_value() == before
    assert exceptions(page) == 0
