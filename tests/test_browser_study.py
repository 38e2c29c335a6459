"""The study view in a real browser: clicking a point of the trade-off chart shows that architecture's curves, and
its button puts the architecture in the sidebar's input. A small real study (tiny networks on the committed subset)."""
import pytest
from playwright.sync_api import expect, sync_playwright

from browser_helpers import launch, start_server, stop_server, wait_idle
from cnn.studies import study

pytestmark = pytest.mark.browser
PROTOCOL = dict(study.PROTOCOL, data="subset", n_train=200, n_test=200, epochs=2)


def test_clicking_a_point_shows_its_curves_and_fills_the_sidebar(app_weights, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "default.npz").write_bytes((app_weights / "default.npz").read_bytes())
    study.write_results([study.run_one(a, s, PROTOCOL) for a in ("c2p", "c4pc4") for s in (0, 1)],
                        folder / "study.jsonl")
    proc, url, _ = start_server({"CNN_WEIGHTS_DIR": str(folder), "CNN_DATA_DIR": str(tmp_path / "data")})
    try:
        with sync_playwright() as p:
            ctx = launch(p)
            page = ctx.new_page()
            page.goto(url + "/compare")
            page.get_by_text("Architecture study", exact=False).first.click()
            chart = page.locator('.st-key-study_params [data-testid="stPlotlyChart"]')
            chart.locator("path.point").first.wait_for(timeout=30_000)
            wait_idle(page)
            arch = chart.evaluate("e => e.querySelector('.js-plotly-plot').data[0].customdata[0][0]")
            box = chart.locator("g.trace.scatter").first.locator("path.point").first.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)   # under Plotly's drag layer
            expect(page.get_by_text(f"{arch}: learning curves")).to_be_visible(timeout=30_000)
            page.mouse.move(5, 5)                                       # the pointer leaves: no label stays
            expect(chart.locator(".hoverlayer .hovertext")).to_have_count(0, timeout=10_000)
            page.get_by_role("button", name=f"Train {arch} in the sidebar").click()
            wait_idle(page)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_role("combobox", name="Architecture")).to_have_value(arch, timeout=30_000)
            expect(sidebar.get_by_role("textbox", name="…or type your own")).to_have_value("")
            expect(sidebar.get_by_role("spinbutton", name="Training images")).to_have_value("200")
            expect(sidebar.get_by_role("spinbutton", name="Epochs")).to_have_value("2")
            expect(page.get_by_text("set to the study's protocol: 200 images x 2 epochs")).to_be_visible()
            ctx.close()
    finally:
        stop_server(proc)
