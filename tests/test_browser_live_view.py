"""The live view of the whole network in a real browser (Draw page): it redraws after every stroke, follows a unit
back to the pixels (by keyboard on a desktop, by taps on a phone) and plays the kernel sliding.
Helpers: tests/browser_helpers.py."""
import re
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import expect

from browser_helpers import (
    BROWSER_MARKS,
    CHROMIUM,
    DIGITS,
    LAUNCH_ARGS,
    draw,
    exceptions,
    open_app,
    prediction,
    wait_idle,
)

pytestmark = BROWSER_MARKS     # the browser marker; skipped without Chromium unless CI is set
VIEW = ".live-view"
AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
WCAG = "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, not a persistent context: the phone test needs a context of its own."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def open_view(page, url):
    open_app(page, url)
    page.get_by_text("Watch the whole network").click()
    wait_idle(page)


def shown_probabilities(page):
    return page.eval_on_selector_all(f"{VIEW} [data-digit]", "rows => rows.map(r => Number(r.dataset.p))")


def test_the_view_redraws_after_every_stroke(app, page):
    url, _ = app
    open_view(page, url)
    expect(page.get_by_text("The whole network appears here once you draw")).to_be_visible()
    draw(page, [DIGITS["7"][0][:2]])                                # the 7's top bar
    page.locator(VIEW).wait_for(timeout=20_000)
    wait_idle(page)
    first = page.locator(VIEW).get_attribute("data-key")
    draw(page, [DIGITS["7"][0][1:]])                                # and its stem
    expect(page.locator(VIEW)).not_to_have_attribute("data-key", first, timeout=20_000)
    wait_idle(page)
    probs = shown_probabilities(page)
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-3
    guess = prediction(page).inner_text()
    assert guess == "not sure" or int(guess) == probs.index(max(probs))
    n_stages = page.locator(f"{VIEW} .lv-stage").count()
    assert page.locator(f"{VIEW} img[alt]").count() == n_stages - 1          # every map image has its alt text
    assert exceptions(page) == 0


def test_a_unit_is_followed_by_keyboard_and_the_kernel_plays(app, page):
    url, _ = app
    open_view(page, url)
    draw(page, DIGITS["7"])
    page.locator(VIEW).wait_for(timeout=20_000)
    wait_idle(page)
    follow = page.get_by_test_id("stSelectbox").filter(has_text="Follow a unit").get_by_role("combobox")
    follow.focus()
    page.keyboard.press("ArrowDown")                                 # open the list, then the first convolution
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_idle(page)
    row = page.get_by_label(re.compile(r"^Row \(0-\d+\)"))
    row.fill("5")
    row.press("Enter")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"channel 0, row 5, column 0 = -?\d+\.\d{4}"))).to_be_visible()
    assert page.locator(f'{VIEW} [data-stage="0"] .rf').count() == 1        # its 3x3 patch of the input
    assert page.locator(f'{VIEW} [data-stage="1"] .rf').count() == 1
    page.get_by_text("Watch a kernel slide").click()
    wait_idle(page)
    player = page.locator(".kernel-player")
    expect(page.locator(".kp-sum")).to_contain_text("Row 0, column 0")
    page.get_by_role("button", name="Play").click()
    expect(player).not_to_have_attribute("data-position", "0", timeout=5_000)
    page.get_by_role("button", name="Pause").click()
    at = int(player.get_attribute("data-position"))
    text = page.locator(".kp-sum").inner_text()
    assert "the map's value" in text and re.search(r"sum to -?\d+\.\d{4}", text)
    page.locator(".kp-pos").focus()
    page.keyboard.press("ArrowRight")                                 # one step by hand
    expect(player).to_have_attribute("data-position", str(at + 1))
    page.add_script_tag(content=AXE)                                  # the view and the player, by axe-core
    violations = page.evaluate(f"""async () => (await axe.run({{include: [['{VIEW}'], ['.kernel-player']]}},
                                                              {WCAG})).violations.map(v => v.id)""")
    assert violations == []
    assert exceptions(page) == 0


def test_a_phone_taps_to_follow_a_unit(app, browser):
    url, _ = app
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    try:
        open_view(page, url)
        draw(page, DIGITS["1"])
        page.locator(VIEW).wait_for(timeout=20_000)
        wait_idle(page)
        view = page.locator(VIEW).bounding_box()
        assert view["width"] <= 390                                 # it scrolls inside itself, not the page
        follow = page.get_by_test_id("stSelectbox").filter(has_text="Follow a unit").get_by_role("combobox")
        follow.scroll_into_view_if_needed()
        follow.tap()
        page.get_by_role("option").nth(2).tap()
        wait_idle(page)
        expect(page.get_by_text(re.compile(r"It reads, outlined in red"))).to_be_visible()
        assert page.locator(f"{VIEW} .rf").count() >= 2
        assert exceptions(page) == 0
    finally:
        ctx.close()
