"""The pages' clarity fixes in a real browser, each saving a small screenshot of the changed view into docs/:
the photo panel in one compact row with its own "Wrong?", saliency over the digit's outline, the Inside header
with the true label and no empty band, readable filters, the reliability diagram, the study's charts."""
import numpy as np
from PIL import Image

from browser_helpers import BROWSER_MARKS, DIGITS, doc_shot, draw, exceptions, go_to, open_app, prediction, wait_idle
from cnn.files.mnist import load_subset

pytestmark = BROWSER_MARKS


def test_photo_panel_is_compact_with_one_wrong_beside_its_guess(app, page, tmp_path):
    from playwright.sync_api import expect
    url, _ = app
    x = load_subset()[2][18]                                           # a test image, as dark ink on white paper
    photo = tmp_path / "digit.png"
    Image.fromarray(np.uint8(255 - x)).resize((200, 200)).save(photo)
    open_app(page, url)
    panel = page.get_by_test_id("stExpander").filter(has_text="Use a photo of a handwritten digit")
    panel.get_by_text("Use a photo of a handwritten digit").click()
    panel.get_by_text("A file", exact=True).click()
    wait_idle(page)
    panel.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
    expect(panel.get_by_text("Prediction for the photo")).to_be_visible(timeout=15_000)
    wait_idle(page)
    tops = [panel.locator(f'figure[data-name="{n}"]').bounding_box()["y"] for n in ("photo", "ink", "steps", "input")]
    assert max(tops) - min(tops) < 5                                   # the four images in one row
    assert panel.bounding_box()["height"] < 1100                       # was about 1,450 px at this width
    expect(panel.get_by_text("Wrong? The photo is a …")).to_have_count(1)
    doc_shot(panel, "photo_panel")
    assert exceptions(page) == 0


def test_saliency_inside_header_filters_and_reliability(app, page):
    from playwright.sync_api import expect
    url, _ = app
    open_app(page, url)
    draw(page, DIGITS["7"])
    expect(prediction(page)).to_be_visible(timeout=10_000)
    page.locator('figure[data-name="saliency"]').wait_for()
    wait_idle(page)
    doc_shot(page.locator('figure[data-name="saliency"]').locator(".."), "saliency")
    go_to(page, "Inside the network")
    page.get_by_text("An MNIST test image").click()
    wait_idle(page)
    expect(page.get_by_text("True label: 7")).to_be_visible(timeout=10_000)
    header = page.get_by_test_id("stHorizontalBlock").filter(has=page.locator('figure[data-name="input"]')).first
    tabs = page.get_by_role("radio", name="Feature maps", exact=True)
    gap = tabs.bounding_box()["y"] - (header.bounding_box()["y"] + header.bounding_box()["height"])
    assert gap < 60                                                    # the empty band was 150 px
    doc_shot(header, "inside_header")
    page.get_by_role("radio", name="Filters", exact=True).click()
    wait_idle(page)
    panel = page.get_by_test_id("stMain").get_by_test_id("stVerticalBlock").filter(
        has_text="one colour scale per layer").filter(has=page.locator(".colorbar")).last
    panel.locator(".colorbar").first.wait_for(timeout=10_000)           # the colour scale is drawn
    doc_shot(panel, "filters")
    go_to(page, "Evaluate")
    chart = page.locator(".st-key-reliability")
    chart.locator(".js-plotly-plot").wait_for(timeout=120_000)
    wait_idle(page)
    doc_shot(page.get_by_test_id("stHorizontalBlock").filter(has=chart), "reliability")
    go_to(page, "Compare")
    page.get_by_text("Architecture study", exact=False).first.click()
    page.locator('.st-key-study_params .js-plotly-plot').wait_for(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_text("The study's protocol:")).to_be_visible()
    ticks = page.locator(".st-key-study_params .xtick text").all_text_contents()
    assert "10k" in ticks and "100k" in ticks
    doc_shot(page.get_by_test_id("stHorizontalBlock").filter(has=page.locator(".st-key-study_params")), "study")
    assert exceptions(page) == 0
