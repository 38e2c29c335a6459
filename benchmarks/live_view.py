"""What the live view of the whole network costs a stroke, and how fast Inside the network opens, in a real browser.

    python benchmarks/live_view.py [--rounds 6] [--strokes 3] [--base DIR]
    python benchmarks/live_view.py --shots docs/     # screenshots of the view, desktop and phone, 3 models

Strokes: one Streamlit server, one Chromium page on Draw; rounds alternate the live view off and on, each a few
strokes on a cleared canvas. A stroke is timed from mouse-up to its picture: the 28x28 input image with the view
off, the input image and the live view with it on; then to the rerun's end (the app idle again, after "Why this
guess?"). Page opens: each load in a fresh browser context (cold: no cache, a new session), Draw and Inside
alternating, timed from navigation to the page idle with its content (the canvas; the first feature map), with the
bytes received over the websocket. --base DIR also opens Inside from another checkout (e.g. `git archive` of the
commit before) on a second server, in the same alternation. Prints medians and a JSON line.
"""
import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from playwright.sync_api import sync_playwright  # noqa: E402

import browser_helpers as bh  # noqa: E402

STROKES = [[(140, 40), (140, 240)], [(75, 50), (205, 50)], [(80, 150), (200, 150)], [(90, 60), (190, 230)]]
CHANGED = """([before, live]) => {
    const img = document.querySelector('[data-name="input"] img'), view = document.querySelector('.live-view');
    const app = document.querySelector('[data-testid="stApp"]');
    const picture = img && img.src !== before[0] && (!live || (view && view.dataset.key !== before[1]));
    return picture ? (app.dataset.testScriptState === 'notRunning' ? 'idle' : 'picture') : null;
}"""
STATE = """() => [document.querySelector('[data-name="input"] img')?.src || '',
                  document.querySelector('.live-view')?.dataset.key || '']"""


def stroke(page, points, live):
    """Draw one stroke; (seconds to the picture, seconds to the rerun's end), from mouse-up."""
    box = page.locator(bh.CANVAS).bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=6)
    before = page.evaluate(STATE)
    start = time.perf_counter()
    page.mouse.up()
    page.wait_for_function(CHANGED, arg=[before, live], timeout=60_000, polling="raf")
    picture = time.perf_counter() - start
    page.wait_for_function(f"([b, l]) => ({CHANGED})([b, l]) === 'idle'", arg=[before, live], timeout=60_000,
                           polling="raf")
    return picture, time.perf_counter() - start


def set_view(page, on):
    switch = page.get_by_role("switch", name="Watch the whole network")
    if switch.is_checked() != on:
        page.get_by_text("Watch the whole network").click()
        bh.wait_idle(page)


def strokes(url, rounds, per_round):
    times = {False: [], True: []}
    with sync_playwright() as p:
        ctx = bh.launch(p)
        page = ctx.pages[0]
        bh.open_app(page, url)
        for r in range(rounds):
            for live in (r % 2 == 0, r % 2 == 1):                       # off first, then on first, and so on
                set_view(page, live)
                bh.clear(page)
                bh.wait_idle(page)
                page.mouse.move(10, 10)
                for i in range(per_round):
                    times[live].append(stroke(page, STROKES[(r + i) % len(STROKES)], live))
        ctx.close()
    return times


def open_page(p, url, path, wait):
    """Seconds from navigation to the page idle with `wait` shown, and KB received over the websocket."""
    ctx = bh.launch(p)
    page = ctx.pages[0]
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(len(data))))
    start = time.perf_counter()
    page.goto(url + path)
    page.locator(wait).first.wait_for(timeout=60_000)
    bh.wait_idle(page)
    seconds = time.perf_counter() - start
    ctx.close()
    return seconds, sum(received) / 1024


def opens(urls, rounds):
    pages = [("Draw", urls[0], "/", bh.CANVAS), ("Inside", urls[0], "/inside", '[data-name="maps_0"] img')]
    if len(urls) > 1:
        pages.append(("Inside before (tabs)", urls[1], "/inside", '[data-testid="stPlotlyChart"]'))
    found = {name: [] for name, *_ in pages}
    with sync_playwright() as p:
        for r in range(rounds):
            for name, url, path, wait in pages[r % len(pages):] + pages[:r % len(pages)]:
                found[name].append(open_page(p, url, path, wait))
    return found


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of strokes (view off and on in each)")
    parser.add_argument("--strokes", type=int, default=3, help="strokes per mode per round")
    parser.add_argument("--opens", type=int, default=6, help="cold opens of each page")
    parser.add_argument("--base", help="another checkout whose Inside page is opened too (the page before)")
    parser.add_argument("--shots", help="only save screenshots of the view in this folder")
    args = parser.parse_args()
    if args.shots:
        proc, url, _ = bh.start_server()
        try:
            shots(url, Path(args.shots))
        finally:
            bh.stop_server(proc)
        return
    servers = [bh.start_server()]
    if args.base:
        servers.append(start_in(args.base))
    try:
        times = strokes(servers[0][1], args.rounds, args.strokes) if args.rounds else {}
        pages = opens([s[1] for s in servers], args.opens)
    finally:
        for proc, *_ in servers:
            bh.stop_server(proc)
    result = {}
    for live in (False, True) if args.rounds else ():
        pic, idle = median([t[0] for t in times[live]]), median([t[1] for t in times[live]])
        result["view on" if live else "view off"] = {"picture_s": pic, "rerun_s": idle, "n": len(times[live])}
        print(f"stroke, view {'on ' if live else 'off'}: mouse-up -> picture {pic:.3f} s, -> rerun done "
              f"{idle:.3f} s (median of {len(times[live])})")
    if args.rounds:
        on, off = result["view on"], result["view off"]
        print(f"ratio on/off: picture {on['picture_s'] / off['picture_s']:.2f}, "
              f"rerun {on['rerun_s'] / off['rerun_s']:.2f}")
    for name, values in pages.items() if args.opens else ():
        s, kb = median([v[0] for v in values]), median([v[1] for v in values])
        result[name] = {"open_s": s, "ws_kb": kb, "n": len(values)}
        print(f"open {name}: {s:.2f} s, {kb:.0f} KB over the websocket (median of {len(values)}, cold)")
    if args.opens:
        print(f"ratio Inside/Draw open: {result['Inside']['open_s'] / result['Draw']['open_s']:.2f}")
    print(json.dumps(result))


def shots(url, folder, models=("c8p", "c16pc16", "default")):
    """live-view-<model>-desktop.png and -phone.png: a 7 drawn, a unit of the first pooling layer followed."""
    from PIL import Image
    folder.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=bh.CHROMIUM, headless=True, args=bh.LAUNCH_ARGS)
        for device, options in [("desktop", {"viewport": {"width": 1400, "height": 1000}}),
                                ("phone", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                                           "is_mobile": True, "has_touch": True})]:
            for model in models:
                page = browser.new_context(**options).new_page()
                bh.open_app(page, url)
                picker = page.get_by_test_id("stSelectbox").filter(has_text="Model").get_by_role("combobox")
                picker.click()
                page.get_by_role("option").filter(has_text=re.compile(rf"^{model} ·")).first.click()
                bh.wait_idle(page)
                page.get_by_text("Watch the whole network").click()
                bh.wait_idle(page)
                bh.draw(page, bh.DIGITS["7"])
                page.locator(".live-view").wait_for(timeout=30_000)
                bh.wait_idle(page)
                follow = page.get_by_test_id("stSelectbox").filter(has_text="Follow a unit").get_by_role("combobox")
                follow.scroll_into_view_if_needed()
                follow.click()
                page.get_by_role("option").nth(2).click()
                bh.wait_idle(page)
                for label, value in (("Row", "4"), ("Column", "6")):
                    box = page.get_by_label(re.compile(rf"^{label} \(0-\d+\)"))
                    box.fill(value)
                    box.press("Enter")
                    bh.wait_idle(page)
                path = folder / f"live-view-{model}-{device}.png"
                if device == "desktop":
                    top = page.locator(".live-view").bounding_box()["y"] - 30
                    end = page.get_by_text("It reads, outlined in red").bounding_box()
                    page.screenshot(path=str(path), clip={"x": 300, "y": top, "width": 1100,
                                                          "height": end["y"] + end["height"] - top + 10})
                else:
                    bh.wait_idle(page)
                    page.evaluate("document.querySelector('.live-view').scrollIntoView({block: 'center'})")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(path))
                Image.open(path).convert("RGB").quantize(128).save(path, optimize=True)     # small PNG
                page.context.close()
        browser.close()


def start_in(folder):
    """bh.start_server, run in another checkout."""
    saved = bh.ROOT
    bh.ROOT = Path(folder).resolve()
    try:
        return bh.start_server()
    finally:
        bh.ROOT = saved


if __name__ == "__main__":
    main()
