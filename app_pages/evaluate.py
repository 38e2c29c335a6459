"""Evaluate: accuracy, loss and the confusion matrix on the MNIST test images and on your own drawings."""
import numpy as np
import streamlit as st

from cnn.teach.evaluation import cell_indices
from ui.charts import basic as charts
from ui.charts import evaluate as eval_charts
from ui.core.store import StoreError
from ui.panels import uncertainty
from ui.state import cached, registry, visitor

GALLERY = 18           # misclassified images shown for one confusion-matrix cell
COLUMNS = 6

st.title("Evaluate")
st.caption("How well does the model read digits it never saw in training? Every test image goes through the "
           "network; the confusion matrix counts, for each true digit, which digit the network answered.")


def choose_cell():
    """The confusion chart's selection -> the two cell pickers (runs only when the selection changes)."""
    event = st.session_state.get("confusion_chart") or {}
    cell = eval_charts.selected_cell((event.get("selection") or {}).get("points"))
    if cell is not None:
        st.session_state["cell_true"], st.session_state["cell_pred"] = cell


def default_cell(matrix):
    """The most frequent mistake: the largest off-diagonal cell."""
    off = np.asarray(matrix) - np.diag(np.diag(matrix))
    return tuple(int(i) for i in np.unravel_index(off.argmax(), off.shape))


def gallery(result, x, y, true, pred):
    idx = cell_indices(result, y, true, pred)
    if true == pred:
        st.caption(f"{len(idx):,} images of a {true} read correctly. Choose a cell off the diagonal to see mistakes.")
        return
    if not len(idx):
        st.success(f"No test image of a {true} was read as a {pred}.")
        return
    st.caption(f"{len(idx)} images of a **{true}** read as a **{pred}**, the most confident mistakes first"
               + (f" (the first {GALLERY} shown)" if len(idx) > GALLERY else "") + ". **Inspect** opens one "
               "in *Inside the network*.")
    for row in range(0, min(len(idx), GALLERY), COLUMNS):
        for col, i in zip(st.columns(COLUMNS), idx[row:row + COLUMNS], strict=False):
            p = result["probabilities"][i]
            col.image(charts.upscale(x[i] / 255.0, 3), width="stretch",
                      caption=f"#{i}: {p[pred]:.0%} {pred}, {p[true]:.0%} {true}",
                      alt=f"Test image #{i}, a {true} the network read as a {pred}")
            if col.button("Inspect", key=f"inspect_{i}", icon=":material/layers:"):
                cached.inspect(x[i] / 255.0, true, f"MNIST test image #{i}")


def mnist_section(model, model_id):
    x, y, name, problem = cached.test_set()
    if problem:
        st.error(problem + (" Evaluating on the 2,000 test images committed with the app instead."
                            if x is not None else ""))
    if x is None:
        return
    result = cached.evaluate(model_id, name, model, x, y)
    if result is None:
        return
    acc, loss, wrong = st.columns(3)
    acc.metric("Test accuracy", f"{result['accuracy']:.2%}")
    loss.metric("Test loss", f"{result['loss']:.4f}", help="Mean cross-entropy of the softmax probabilities.")
    wrong.metric("Mistakes", f"{result['n'] - np.trace(result['matrix']):,} of {result['n']:,}")
    matrix_col, class_col = st.columns([3, 2], gap="large")
    with matrix_col:
        st.markdown("**Confusion matrix**: choose a cell to see its images.")
        st.plotly_chart(eval_charts.confusion_figure(result["matrix"]), key="confusion_chart", on_select=choose_cell,
                        selection_mode="points", config={"displayModeBar": False})
    with class_col:
        st.markdown("**Accuracy per digit**")
        st.plotly_chart(eval_charts.per_class_figure(result["per_class"], result["counts"]), key="per_class",
                        config={"displayModeBar": False})
        if "cell_true" not in st.session_state:
            st.session_state["cell_true"], st.session_state["cell_pred"] = default_cell(result["matrix"])
        true = st.selectbox("True digit", range(10), key="cell_true")
        pred = st.selectbox("Predicted as", range(10), key="cell_pred")
    gallery(result, x, y, true, pred)
    uncertainty.section(model, result, y)


def drawings_section(model, model_id):
    st.subheader("Your drawings", divider="gray")
    store = cached.drawings_store()
    if store is None:
        return
    ids, x, y = store.arrays()
    if not len(ids):
        st.info("No drawings stored yet. On the **Draw** page, when the guess is wrong, tell it the right digit "
                "with **Wrong? It's a …**: your drawings then form an extra test set here.")
        return
    result = cached.evaluate(model_id, "drawings-" + cached.data_fingerprint(x, y), model, x, y)
    if result is None:
        return
    matrix_col, side_col = st.columns([3, 2], gap="large")
    matrix_col.plotly_chart(eval_charts.confusion_figure(result["matrix"]), key="drawings_confusion",
                            config={"displayModeBar": False})
    side_col.metric("Accuracy on your drawings", f"{result['accuracy']:.0%}")
    side_col.metric("Drawings stored", f"{len(ids)}")
    side_col.download_button("Export your drawings (.npz)", data=store.export_npz(), file_name="my_drawings.npz",
                             mime="application/octet-stream", icon=":material/download:", key="export_drawings",
                             help="x: (N, 28, 28) float32 images in [0, 1]; y: (N,) uint8 labels.")
    side_col.caption(visitor.privacy_note() if visitor.public() else
                     f"Stored in `{store.path}` (set CNN_DATA_DIR to use another folder).")
    drawings_gallery(store, ids, x, y, result["predictions"])


def drawings_gallery(store, ids, x, y, predictions):
    """The latest drawings, newest first, with the label given, the guess and a Delete button."""
    latest = np.arange(len(ids))[::-1][:GALLERY]
    st.caption(f"Your latest {len(latest)} drawings, with the label you gave and the model's guess.")
    for row in range(0, len(latest), COLUMNS):
        for col, i in zip(st.columns(COLUMNS), latest[row:row + COLUMNS], strict=False):
            guess = int(predictions[i])
            col.image(charts.upscale(x[i], 3), width="stretch",
                      caption=f"{y[i]}, read as {guess}" + (" ✓" if guess == y[i] else ""),
                      alt=f"Your drawing of a {y[i]}, read as {guess}")
            if col.button("Delete", key=f"delete_{ids[i]}", icon=":material/delete:"):
                try:
                    store.delete(int(ids[i]))
                except StoreError as e:
                    st.error("Not deleted: " + visitor.tell(e, "the server's store failed. Try again later."))
                else:
                    st.rerun()


model = registry.model_picker("evaluate")
if model is None:
    st.stop()
model_id = cached.fingerprint(model)
mnist_section(model, model_id)
drawings_section(model, model_id)
