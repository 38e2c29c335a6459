"""Honest answers in the app: one verdict for a 28x28 input on every page (a digit, "not sure", "That doesn't
look like a digit", "one digit at a time": cnn.teach.notdigit.verdict), every model's temperature fitted when it
is made or loaded, why an input is not a digit (its score against digits' and non-digits'), and the Evaluate
page's calibration section (a reliability diagram and the expected calibration error)."""
import numpy as np
import streamlit as st

import cnn
from cnn.engine.layers import softmax
from cnn.teach import calibration, notdigit
from ui.charts import basic as charts
from ui.charts import teach as teach_charts
from ui.state import cached

WORDS = {"not a digit": "That doesn't look like a digit",
         "one digit at a time": "One digit at a time: that looks like digits side by side"}


def verdict(model, x28):
    """cnn.teach.notdigit.verdict, or None (after saying why) when the detector cannot be read."""
    prepare(model)
    try:
        return notdigit.verdict(model, x28)
    except notdigit.NoDetector as e:
        st.error(f"This app cannot tell digits from other drawings now: {e}. The guess below is the model's "
                 "answer whatever was drawn.")
        return None


def guess(model, x28, label="Prediction", bars=True):
    """The guess for one input, as every page shows it: a metric, then (for a digit or "not sure") the ten
    calibrated probabilities. Returns the verdict (None when no detector) and the digit shown."""
    v = verdict(model, x28)
    probs = v["probs"] if v else calibration.calibrated(model.predict_proba(x28[None])[0],
                                                       calibration.temperature(model))
    digit = int(probs.argmax())
    kind = v["kind"] if v else ("not sure" if calibration.not_sure(probs) else "digit")
    if kind in WORDS:
        st.metric(label, kind, delta=f"{WORDS[kind]}. Best guess {digit} ({probs[digit]:.0%})", delta_color="off",
                  delta_arrow="off", help="Its score on the not-a-digit detector is above the digits' threshold, "
                  "or the ink is two pieces side by side, a dot or a blot (the Inside page shows why).")
        return v, digit
    if kind == "not sure":
        st.metric(label, "not sure", delta=f"maybe {digit} ({probs[digit]:.0%})", delta_color="off",
                  delta_arrow="off", help=f"No digit reaches {calibration.NOT_SURE_BELOW:.0%} (calibrated): this "
                  "drawing is between two digits, or unlike the digits the network learned.")
    else:
        st.metric(label, str(digit), delta=f"{probs[digit]:.1%} probability", delta_color="off",
                  delta_arrow="off", help="The digit with the highest softmax probability (calibrated).")
    if bars:
        st.html(charts.probability_bars(probs))                   # HTML: far lighter than Plotly
    return v, digit


def prepare(model, refit=False):
    """Give a model its temperature when it has none (trained in the sidebar, uploaded, an old file) or when
    `refit` (a fine-tuned copy carries its base's): fitted on held-out MNIST test images, or the committed
    test images when MNIST is absent; at most calibration.FIT_IMAGES forward passes, once per model."""
    if model.meta.get("calibration") and not refit:
        return
    try:
        _, _, x_test, y_test, _ = cached.mnist_or_subset()
    except cnn.MnistError:
        return                                                      # raw softmax: temperature 1
    model.meta["calibration"] = calibration.calibrate(model, x_test, y_test)


@st.cache_resource(show_spinner=False)
def reference_scores():
    """The detector's scores of the committed MNIST test images and of generated non-digits of the kinds the
    shipped detector never saw (cnn.studies.notdigit_study.HELD_OUT), computed once per server."""
    from cnn.studies.doodles import canvas_inputs
    from cnn.studies.notdigit_study import HELD_OUT
    x_test = cached.subset()[2]
    others = np.concatenate([canvas_inputs(k, 12, seed=3) for k in HELD_OUT])
    return notdigit.scores(x_test), notdigit.scores(others)


def score_panel(model, x28):
    """Why the input is or is not a digit: its score against digits' and non-digits' scores, with the threshold."""
    v = verdict(model, x28)
    if v is None:
        return
    digits, others = reference_scores()
    st.plotly_chart(teach_charts.outlier_figure(v["score"], digits, others, v["threshold"]), key="outlier_scores",
                    config={"displayModeBar": False})
    side = "above" if v["score"] > v["threshold"] else "below"
    st.caption(f"A second, small network of this project's engine scores how unlike a digit the 28x28 input is: "
               f"it was trained on MNIST digits and canvas digit drawings against generated letters, doodles, "
               f"symbols and tangles. This input scores **{v['score']:.1f}**, {side} the threshold "
               f"**{v['threshold']:.1f}**, set so that about 1 digit in 100 lies above it. The grey bars are "
               f"{len(digits):,} MNIST test digits, the red ones {len(others):,} drawings of kinds the detector never "
               f"saw. Two pieces of ink side by side, a dot or a blot are not digits whatever the score. "
               f"Verdict: **{v['kind']}**.")


def section(model, result, y):
    """Calibration on the evaluated test set: result is cnn.teach.evaluation.confusion's, y the labels."""
    st.subheader("Calibration: can its probabilities be trusted?", divider="gray")
    log_p = np.log(np.maximum(result["probabilities"].astype(np.float64), np.finfo(np.float64).tiny))
    (fit_p, fit_y), (report_p, report_y) = calibration.split(log_p, np.asarray(y))
    stored = model.meta.get("calibration")
    temp = calibration.temperature(model) if stored else calibration.fit_temperature(fit_p, fit_y)
    raw_bins, raw_ece = calibration.reliability(softmax(report_p), report_y)
    cal_bins, cal_ece = calibration.reliability(softmax(report_p / temp), report_y)
    chart, side = st.columns([3, 2], gap="large")
    chart.plotly_chart(teach_charts.reliability_figure(raw_bins, cal_bins), key="reliability",
                       config={"displayModeBar": False})
    side.metric("Expected calibration error", f"{raw_ece:.2%}", help="The gap between confidence and accuracy, "
                "averaged over the confidence bins (weighted by their images). 0 is perfect.")
    side.metric("After temperature scaling", f"{cal_ece:.2%}", delta=f"{cal_ece - raw_ece:+.2%}",
                delta_color="inverse")
    source = "stored with the model" if stored else "fitted now (this model has none stored)"
    side.caption(f"Temperature **{temp:.3f}**, {source}: the logits are divided by it before the softmax. It is "
                 f"fitted on the first {len(fit_y):,} test images and the error is measured on the other "
                 f"{len(report_y):,} only. A point below the diagonal is over-confident; a hollow point is a bin "
                 f"of fewer than {teach_charts.FEW} images (its count beside it), far from the diagonal by chance "
                 "alone and weighing almost nothing in the error. The Draw page shows these calibrated "
                 f"probabilities and says *not sure* when no digit reaches {calibration.NOT_SURE_BELOW:.0%}.")
