"""axe-core (WCAG 2.0/2.1 A and AA) on every page of this checkout after a drawing, each Inside tab and both
Compare views: the rules and nodes it finds, per view (tests/test_browser_a11y.py asserts there are none).

    MNIST_DIR=../shared/mnist python benchmarks/axe_audit.py
"""
import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from browser_helpers import (  # noqa: E402
    DIGITS,
    axe_violations,
    draw,
    go_to,
    launch,
    open_app,
    prediction,
    start_server,
    stop_server,
    wait_idle,
)

TABS = ["Trace a number", "The math", "Fool the network", "Filters", "Watch it learn"]


def audit(page, where):
    wait_idle(page)
    page.wait_for_timeout(500)                     # charts draw after the script has finished
    found = axe_violations(page)
    rules = ", ".join(f"{rule} x{len(nodes)}" for rule, _, nodes in found)
    print(f"{where}: {len(found)} rules, {sum(len(n) for _, _, n in found)} nodes {rules}", flush=True)


def main():
    proc, url, _ = start_server({"CNN_DATA_DIR": tempfile.mkdtemp(prefix="axe-data-")})
    try:
        with sync_playwright() as p:
            ctx = launch(p)
            page = ctx.new_page()
            open_app(page, url)
            draw(page, DIGITS["7"])
            prediction(page).wait_for(timeout=15_000)
            page.get_by_text("Why this guess?").first.wait_for()
            audit(page, "Draw")
            go_to(page, "Inside the network")
            audit(page, "Inside: Feature maps")
            for tab in TABS:
                page.get_by_role("radio", name=tab, exact=True).click()
                audit(page, f"Inside: {tab}")
            go_to(page, "Compare")
            audit(page, "Compare: the ten")
            page.get_by_text("Architecture study", exact=False).first.click()
            audit(page, "Compare: the study")
            go_to(page, "Evaluate")
            page.get_by_text("Calibration: can its probabilities").wait_for(timeout=120_000)
            audit(page, "Evaluate")
            ctx.close()
    finally:
        stop_server(proc)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    main()
