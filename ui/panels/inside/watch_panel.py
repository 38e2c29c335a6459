"""Inside the network, "Watch it learn": the first layer's weights and a probe image's feature maps during a
sidebar training run (live), and afterwards a slider through the snapshots with the accuracy at each. The probe
is the student's drawing when there is one as the run starts, else the run's first test image."""
import numpy as np
import streamlit as st

from cnn.teach.snapshots import EVAL_IMAGES, Snapshots
from ui.charts import basic as charts
from ui.charts import teach as teach_charts
from ui.state import session

POLL_SECONDS = 1.0
PROBE = 0          # without a drawing, the probe image is the first test image of the run's data
# A run long enough to watch (about half a minute on a free core), its snapshots spread over 3 epochs.
WATCHABLE = dict(arch="c16pc16", n_train=10000, epochs=3, batch_size=32, seed=0, source="MNIST (60,000 images)")


def recorder(model, data, config):
    """The snapshot recorder a training job calls with every event (ui/panels/sidebar.py attaches it); its
    `probe_name` says what the probe is."""
    x_test, y_test = data[2], data[3]
    drawing, _ = session.drawing()
    probe = drawing if drawing is not None else np.asarray(x_test[PROBE], np.float32) / 255
    snapshots = Snapshots(model, probe, x_test, y_test, epochs=config.epochs)
    snapshots.probe_name = "your drawing" if drawing is not None else f"test image #{PROBE}, a {int(y_test[PROBE])}"
    return snapshots


def panel():
    job = session.training_job()
    snapshots = getattr(job, "recorder", None)
    if snapshots is None:
        st.info("Train a model in the sidebar: while it trains, its first layer's weights and the feature maps of "
                "your drawing (draw one on the Draw page first; else a test image) change here as it learns; "
                "afterwards a slider steps through them.", icon=":material/model_training:")
        w = WATCHABLE
        st.button("Set up a run long enough to watch", icon=":material/tune:", key="watch_setup",
                  on_click=session.ask_sidebar_to_train, args=(w,),
                  help="Fills the sidebar's form; press Start training there.")
        st.caption(f"It sets {w['arch']} on {w['n_train']:,} MNIST images x {w['epochs']} epochs, batch "
                   f"{w['batch_size']}: about half a minute on a free core (longer when the server is busy), "
                   "with snapshots spread over the whole run. Then press **Start training** in the sidebar.")
        return
    st.fragment(run_every=None if job.done else POLL_SECONDS)(_view)(job, snapshots)


def _view(job, snapshots):
    items = list(snapshots.items)                     # the training thread appends; this run reads a copy
    if job.done and len(items) > 1:
        i = st.slider("Snapshot", 0, len(items) - 1, len(items) - 1, key="watch_snapshot",
                      help="Step through the run, from the untrained network to the end.")
        st.caption(f"**{job.name}**: {len(items)} snapshots.")
    else:
        i = len(items) - 1
        st.caption(f"**{job.name}** is training: the latest of {len(items)} snapshots, updated every second.")
    show(items[i], snapshots.probe, getattr(snapshots, "probe_name", "a test image"))


def show(item, probe, probe_name="a test image"):
    step, acc, loss = st.columns(3)
    step.metric("Training step", f"{item['step']:,}", help=f"Epoch {item['epoch']:.2f}.")
    acc.metric(f"Accuracy on {EVAL_IMAGES} test images", "–" if item["accuracy"] is None else
               f"{item['accuracy']:.0%}", help=f"The share of the run's first {EVAL_IMAGES} test images (never "
               "trained on) the network reads right at this step: a quick look, in steps of 1%.")
    loss.metric("Training loss", "–" if item["loss"] is None else f"{item['loss']:.3f}",
                help="The running loss at this step (none before the first step).")
    kind, weights = item["weights"]
    tiles = weights[:, :, 0, :] if kind == "filters" else weights      # (H, W, k): a first layer has one channel
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**First layer's 3x3 filters** (the first {tiles.shape[2]})" if kind == "filters" else
                    f"**First dense layer's weights over the input** (the first {tiles.shape[2]} units)")
        st.plotly_chart(teach_charts.weights_grid_figure(tiles), key="watch_weights", config={"displayModeBar": False})
        st.caption("Red: positive weights, blue: negative, on one scale.")
    with right:
        st.markdown(f"**Feature maps of {probe_name}** `{item['maps_label']}`")
        st.plotly_chart(charts.feature_map_figure(item["maps"]), key="watch_maps", config={"displayModeBar": False})
        st.html(charts.figures_html([(charts.upscale(probe, 2), f"The probe: {probe_name}", "probe")]))
