"""The teaching views in a real browser: draw a digit, open Inside the network, click a pixel of a feature map
and see that exact value traced; fool the network. Helpers: tests/browser_helpers.py."""
from playwright.sync_api import expect

from browser_helpers import (
    BROWSER_MARKS,
    DIGITS,
    clear,
    doc_shot,
    draw,
    exceptions,
    go_to,
    open_app,
    prediction,
    screenshot,
    wait_idle,
)

pytestmark = BROWSER_MARKS     # the browser marker; skipped without Chromium unless CI is set
MAP = ".st-key-trace_map .js-plotly-plot"

# the page position of a data point (column x, row y) of the trace map, and the map's value there
POINT = """([col, row]) => {
    const gd = document.querySelector('MAP');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
    return {x: box.left + xa._offset + xa.l2p(col), y: box.top + ya._offset + ya.l2p(row),
            value: gd._fullData[1].customdata[row * (xa.range[1] + 0.5) + col]};
}""".replace("MAP", MAP)


def draw_a_digit(page, url, strokes):
    open_app(page, url)
    draw(page, strokes)
    prediction(page).wait_for()
    wait_idle(page)


def open_tab(page, name):
    """Show one part of the Inside page (a segmented control: the page builds only the part shown)."""
    page.get_by_role("radio", name=name, exact=True).click()
    wait_idle(page)


def test_a_click_on_a_feature_map_traces_that_value(app, page):
    url, _ = app
    draw_a_digit(page, url, DIGITS["7"])
    go_to(page, "Inside the network")
    open_tab(page, "Trace a number")
    page.locator(MAP).scroll_into_view_if_needed()
    row, col = 9, 14
    point = page.evaluate(POINT, [col, row])
    page.mouse.click(point["x"], point["y"])
    page.get_by_text(f"row {row}, column {col}").first.wait_for(timeout=15_000)
    wait_idle(page)
    assert page.get_by_label("Row (0-25)").input_value() == str(row)
    assert page.get_by_label("Column (0-25)").input_value() == str(col)
    formulas = page.locator(".katex-mathml annotation").all_text_contents()
    assert any(f"{point['value']:.4f}" in f and "map holds" in f for f in formulas)
    assert exceptions(page) == 0
    screenshot(page, "trace")


def test_the_network_is_fooled_on_request(app, page):
    url, _ = app
    draw_a_digit(page, url, DIGITS["1"])
    go_to(page, "Inside the network")
    open_tab(page, "Fool the network")
    page.get_by_role("button", name="Fool the network").click()
    page.get_by_text("the network answers").wait_for(timeout=30_000)
    assert exceptions(page) == 0
    screenshot(page, "fool")


def test_a_letter_is_not_a_digit_and_a_digit_is_read(app, page):
    """The not-a-digit detector decides for every model (the fixture's small one too): a drawn letter A reads
    "That doesn't look like a digit", the best guess kept small; a 7 is read."""
    url, trained = app
    draw_a_digit(page, url, [[(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)]])     # an A
    expect(prediction(page)).to_have_text("not a digit")
    expect(page.get_by_text("That doesn't look like a digit", exact=False)).to_be_visible()
    screenshot(page, "not_a_digit")
    clear(page)
    draw(page, DIGITS["7"])
    if trained:
        expect(prediction(page)).to_have_text("7")
    else:                                       # the fixture model may be unsure, but the 7 is a digit
        expect(prediction(page)).not_to_have_text("not a digit")
    assert exceptions(page) == 0


def test_the_first_layer_is_watched_live_during_a_sidebar_run_then_stepped_through(app, page):
    url, _ = app
    draw_a_digit(page, url, DIGITS["7"])                              # the probe: the student's drawing
    go_to(page, "Inside the network")
    open_tab(page, "Watch it learn")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="…or type your own").fill("c32pc64pd128")
    sidebar.get_by_role("spinbutton", name="Epochs").fill("1")
    sidebar.get_by_role("spinbutton", name="Training images").fill("10000")
    sidebar.get_by_role("button", name="Start training").click()
    page.get_by_text("is training").wait_for(timeout=60_000)
    step = metric(page, "Training step")
    first = step.inner_text()
    expect(step).not_to_have_text(first, timeout=30_000)              # a newer snapshot arrived by itself
    page.locator(".st-key-watch_snapshot").get_by_role("slider").wait_for(timeout=300_000)   # ended: step through
    expect(page.get_by_text("Feature maps of your drawing")).to_be_visible()
    expect(page.get_by_text("Accuracy on 100 test images")).to_be_visible()
    assert exceptions(page) == 0
    screenshot(page, "watch")
    doc_shot(page.get_by_test_id("stMain").get_by_test_id("stVerticalBlock").filter(
        has_text="Feature maps of your drawing").filter(has_text="Accuracy on 100 test images").last, "watch")


def metric(page, label):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel")
                                                   .get_by_text(label, exact=True)).get_by_test_id("stMetricValue"))
