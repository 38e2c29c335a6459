"""Accessibility in a real browser: axe-core (WCAG 2.0/2.1 A and AA) finds nothing on any page after a drawing,
and a digit can be entered and read with the keyboard alone (tests/browser_helpers.py: axe_violations)."""
import re

from browser_helpers import (
    BROWSER_MARKS,
    DIGITS,
    axe_violations,
    doc_shot,
    draw,
    go_to,
    open_app,
    prediction,
    wait_idle,
)

pytestmark = BROWSER_MARKS
INSIDE_TABS = ["Trace a number", "The math", "Fool the network", "Filters", "Watch it learn"]


def audit(page, where, found):
    wait_idle(page)
    page.wait_for_timeout(500)                  # charts draw after the script has finished
    for rule, impact, nodes in axe_violations(page):
        found.append(f"{where}: {rule} ({impact}) {nodes[:2]}")


def test_no_axe_violation_on_any_page_after_a_drawing(app, page):
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    draw(page, DIGITS["7"])
    expect(prediction(page)).to_be_visible(timeout=10_000)
    found = []
    page.get_by_text("Why this guess?").first.wait_for()
    audit(page, "Draw", found)
    go_to(page, "Inside the network")
    audit(page, "Inside: Feature maps", found)
    for tab in INSIDE_TABS:
        page.get_by_role("radio", name=tab, exact=True).click()     # the page's segmented control
        audit(page, f"Inside: {tab}", found)
    go_to(page, "Compare")
    audit(page, "Compare: the ten", found)
    page.get_by_text("Architecture study", exact=False).first.click()
    audit(page, "Compare: the study", found)
    go_to(page, "Evaluate")
    page.get_by_text("Calibration: can its probabilities").wait_for(timeout=120_000)
    audit(page, "Evaluate", found)
    assert not found, "\n".join(found)


def tab_to(page, pattern, tag=None, limit=120):
    """Press Tab until the focused element (a `tag` element, when given) has text or a label matching `pattern`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate("() => { const e = document.activeElement, box = e.closest('.stElementContainer');"
                             "return e.tagName + ' ' + (e.innerText || '') + ' ' + (e.getAttribute('aria-label') "
                             "|| '') + ' ' + (box ? box.innerText : '') }")
        if re.search(pattern, text) and (tag is None or text.startswith(tag + " ")):
            return
    raise AssertionError(f"no element matching {pattern!r} within {limit} Tab presses")


def test_a_digit_is_entered_and_read_with_the_keyboard_alone(app, page):
    from playwright.sync_api import expect
    url, trained = app
    open_app(page, url)
    page.mouse.move(0, 0)
    tab_to(page, "Draw without a pointer", tag="SUMMARY")
    page.keyboard.press("Enter")                                   # opens the expander
    tab_to(page, "The canvas", tag="INPUT")
    page.keyboard.press("ArrowRight")                              # -> An MNIST test image
    wait_idle(page)
    tab_to(page, r"Test image \(0 to", tag="INPUT")
    page.keyboard.press("ArrowUp")                                 # the step up: test image #1
    page.keyboard.press("Enter")
    wait_idle(page)
    expect(page.get_by_text("MNIST test image #1, a 2")).to_be_visible(timeout=10_000)
    if trained:
        expect(prediction(page)).to_have_text("2", timeout=10_000)
    else:
        expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=10_000)
    doc_shot(page.get_by_test_id("stMain"), "draw_keyboard")
