"""The first stroke after the Draw page opens counts, wherever it begins: pressed at once, with no pause or hover
over the canvas first, by mouse, pen and finger, each on a fresh page, on a 1280x800 window with the sidebar open
and on a phone. The top band is where the canvas's toolbar used to rest, invisible, over the canvas, and its right
end where the canvas's column used to cut it off (ui/panels/draw/canvas_frame.py). On a phone, a touch stroke does
not scroll the page either. Helpers: tests/browser_helpers.py."""
import pytest

from browser_helpers import BROWSER_MARKS, CANVAS, CHROMIUM, LAUNCH_ARGS, PHONE, prompt, touch, wait_idle

pytestmark = BROWSER_MARKS

TOP_BAND = [(40, 14), (110, 20), (164, 12), (215, 18), (265, 24)]   # where 7s, 5s and 3s begin
SCROLLER = '[data-testid="stMain"]'                                  # the element that scrolls the app
INK_NEAR = """(canvas, [x, y]) => {      // bright pixels of the drawing within 6 px of (x, y), canvas pixels
    const d = canvas.getContext('2d').getImageData(x - 6, y - 6, 13, 13).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) n += d[i] > 128 && d[i + 3] > 128;
    return n;
}"""


@pytest.fixture(scope="module")
def contexts():
    """A desktop and a phone browser context; their caches make a fresh page quicker to load."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield {"desktop": browser.new_context(viewport={"width": 1280, "height": 800}),
               "phone": browser.new_context(**PHONE)}
        browser.close()


def fresh_pages(context, url, n):
    """`n` new pages (new Streamlit sessions, where no pointer has been yet), loaded together, each idle."""
    pages = [context.new_page() for _ in range(n)]
    for page in pages:
        page.goto(url, wait_until="commit")
    for page in pages:
        page.locator(CANVAS).wait_for(timeout=30_000)
        wait_idle(page)
    return pages


def seven(x, y):
    """A 7 begun at (x, y): along the top towards the middle, then down; a point every 10 px."""
    corner = (x - 90 if x > 140 else x + 90, y + 6)
    points = []
    for (ax, ay), (bx, by) in [((x, y), corner), (corner, (140, 250))]:
        n = max(1, round(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 / 10))
        points += [(ax + (bx - ax) * i / n, ay + (by - ay) * i / n) for i in range(n)]
    return points + [(140, 250)]


def pen(page, cdp, points):
    """A pen stroke through DevTools (pointerType "pen"): onto its start, press at once, move, lift."""
    def send(kind, x, y, **extra):
        cdp.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "pointerType": "pen", **extra})
    send("mouseMoved", *points[0])
    send("mousePressed", *points[0], button="left", buttons=1, clickCount=1, force=0.5)
    for x, y in points[1:]:
        page.wait_for_timeout(16)
        send("mouseMoved", x, y, button="left", buttons=1, force=0.5)
    send("mouseReleased", *points[-1], button="left", clickCount=1)


def stroke(page, kind, points):
    """Draw `points` (canvas coordinates) with `kind` at once: the pointer's first event is at the start."""
    box = page.locator(CANVAS).bounding_box()
    on_page = [(box["x"] + x, box["y"] + y) for x, y in points]
    if kind == "mouse":
        page.mouse.move(*on_page[0])
        page.mouse.down()
        for point in on_page[1:]:
            page.mouse.move(*point)
        page.mouse.up()
    else:
        cdp = page.context.new_cdp_session(page)
        (touch if kind == "touch" else pen)(page, cdp, on_page)


def inked(page, start):
    """Whether the stroke is on the canvas where it began."""
    page.wait_for_timeout(50)                        # a frame for Fabric to render the finished stroke
    return page.locator(".st-key-canvas canvas.dc-canvas.lower-canvas").evaluate(INK_NEAR, list(start)) >= 20


def guessed(page):
    """Whether the stroke reached the app: the guess replaced the prompt."""
    try:
        page.locator(".probability-bars").wait_for(timeout=20_000)
    except Exception:                                 # Playwright's TimeoutError
        return False
    return prompt(page).count() == 0


def first_strokes(contexts, url, kind, starts, scrolled=()):
    """Each start on its own fresh page; returns the starts whose stroke was lost, and those where the page
    scrolled. All pages are drawn on first, then their guesses awaited: the reruns overlap."""
    pages = fresh_pages(contexts["phone" if kind == "touch" else "desktop"], url, len(starts))
    lost, scroll = set(), {}
    try:
        for page, start in zip(pages, starts, strict=True):
            page.bring_to_front()                     # Chromium pauses the frames of pages behind
            main = page.locator(SCROLLER)
            if start in scrolled:
                main.evaluate("main => main.scrollTo(0, 150)")
            scroll[start] = main.evaluate("main => main.scrollTop")
            stroke(page, kind, seven(*start))
            if not inked(page, start):
                lost.add(start)
        moved = []
        for page, start in zip(pages, starts, strict=True):
            page.bring_to_front()
            if start not in lost and not guessed(page):
                lost.add(start)
            wait_idle(page)
            if page.locator(SCROLLER).evaluate("main => main.scrollTop") != scroll[start] \
                    or page.evaluate("window.scrollY") != 0:
                moved.append(start)
    finally:
        for page in pages:
            page.close()
    return sorted(lost), moved


def test_the_first_stroke_by_mouse_counts_wherever_it_begins(app, contexts):
    lost, _ = first_strokes(contexts, app[0], "mouse", TOP_BAND)
    assert lost == [], f"first mouse strokes lost, begun at {lost}"


def test_the_first_stroke_by_pen_counts_wherever_it_begins(app, contexts):
    lost, _ = first_strokes(contexts, app[0], "pen", TOP_BAND[2:4])
    assert lost == [], f"first pen strokes lost, begun at {lost}"


def test_the_first_stroke_by_finger_counts_wherever_it_begins_and_the_page_stays_put(app, contexts):
    """On a phone; two of the pages scrolled by 150 px first: a stroke must not scroll the page."""
    scrolled = TOP_BAND[1::2]
    lost, moved = first_strokes(contexts, app[0], "touch", TOP_BAND, scrolled)
    assert (lost, moved) == ([], []), f"first touch strokes lost, begun at {lost}; the page moved at {moved}"
