"""Honest uncertainty in the app: the Draw page's guess (calibrated, "not sure" when no digit is likely) and
the Evaluate page's calibration section (a reliability diagram and the expected calibration error)."""
import numpy as np
import streamlit as st

from cnn.engine.layers import softmax
from cnn.teach import calibration
from ui.charts import teach as teach_charts


def guess(model, probs):
    """The Draw page's Prediction metric for softmax probabilities (10,); returns the calibrated probabilities
    it shows. Ten numbers of arithmetic: nothing is computed again."""
    shown = calibration.calibrated(probs, calibration.temperature(model))
    digit = int(shown.argmax())
    if calibration.not_sure(shown):
        st.metric("Prediction", "not sure", delta=f"maybe {digit} ({shown[digit]:.0%})", delta_color="off",
                  delta_arrow="off", help=f"No digit reaches {calibration.NOT_SURE_BELOW:.0%} (calibrated): this "
                  "drawing is unlike the digits the network learned, or between two of them.")
    else:
        st.metric("Prediction", str(digit), delta=f"{shown[digit]:.1%} probability", delta_color="off",
                  delta_arrow="off", help="The digit with the highest softmax probability (calibrated).")
    return shown


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
