"""Draw-page panels that explain a guess and learn from the user: saliency and occlusion maps,
"Wrong? It's a …", fine-tuning on the stored drawings, and using an uploaded model file."""
import functools
import hashlib
import time
from pathlib import Path

import numpy as np
import streamlit as st

import cnn
from cnn.files.weights import MAX_BYTES
from cnn.teach import notdigit
from cnn.teach.evaluation import occlusion
from cnn.teach.finetune import FinetuneConfig, finetune
from ui.charts import basic as charts
from ui.charts import evaluate as eval_charts
from ui.core import admission
from ui.core.model_cache import model_bytes
from ui.core.store import MAX_ROW_BYTES, StoreError
from ui.core.text import md_escape
from ui.panels import uncertainty
from ui.state import cached, client, held, registry, session, uploads, visitor

EVAL_IMAGES = 2000               # MNIST test images measured before and after fine-tuning


def explain(model, x28, digit, scale=9):
    """Saliency (the engine's gradient of the digit's score) and occlusion maps, side by side, with their
    titles and scales in their captions: one HTML element, as this is redrawn after every stroke."""
    figures = []
    for name, title, heat in [("saliency", "Saliency", cnn.saliency(model, x28, digit)),
                              ("occlusion", "Occlusion", occlusion(model, x28, digit, patch=4))]:
        image, lim = eval_charts.attribution_image(heat, scale=scale, ink=x28)
        figures.append((image, f"{title} for {digit}. Colour bar: blue -{lim:.2g}, white 0, red +{lim:.2g}", name))
    red, blue = '<b style="color:#c62828">red</b>', '<b style="color:#1f5f9f">blue</b>'
    st.html(charts.figures_html(figures, caption=(
        "The grey line is the outline of the digit as the network sees it (28x28). "
        f"<b>Saliency</b>: the gradient of the score of {digit} for each input pixel; {red} where more ink "
        f"would make the network surer it is a {digit}, {blue} where less. <b>Occlusion</b>: how much the score "
        f"of {digit} drops when a 4x4 square there is blanked out; {red} marks the strokes the guess depends "
        f"on, {blue} those against it.")))


# widget and session keys of the two "Wrong? It's a …" forms: (label picker, save button, the last saved stamp)
CORRECTION_KEYS = {"drawing": ("correct_label", "save_drawing", "saved_drawing"),
                   "photo": ("photo_label", "save_photo", "saved_photo")}
CORRECTION_LABELS = {"drawing": "Wrong? It's a …", "photo": "Wrong? The photo is a …"}


def correction(model_key, x28, rgba, what="drawing"):
    """'Wrong? It's a …': store x28 (the network's input) and rgba (the image it came from) with the digit the
    user says it is. `what` is "drawing" (the canvas) or "photo"; each has its own widgets."""
    label_key, button_key, stamp_key = CORRECTION_KEYS[what]
    pick, save = st.columns([3, 2, 4] if what == "drawing" else [3, 2], vertical_alignment="bottom")[:2]
    label = pick.selectbox(CORRECTION_LABELS[what], range(10), index=None, key=label_key,
                           placeholder="choose the right digit",
                           help=f"Saves the {what} with your label, to evaluate and fine-tune the model on.")
    if not save.button(f"Save {what}", key=button_key, icon=":material/bookmark_add:", disabled=label is None):
        return
    if x28 is None:
        st.warning("The canvas is empty: draw the digit first, then save it.")
        return
    problem = notdigit.canvas_problem(rgba) if what == "drawing" else notdigit.blot(x28)[0] and "A blot of ink."
    if problem:
        st.warning(f"Not saved: that doesn't look like a digit. {problem}")
        return
    store = cached.drawings_store()
    if store is None:
        return
    stamp = hashlib.sha1(np.asarray(x28, np.float32).tobytes() + bytes([label])).hexdigest()
    if st.session_state.get(stamp_key) == stamp:
        st.info(f"This {what} is already saved as a {label}.")
        return
    try:
        if visitor.public():
            _check_drawing_room(store)
        drawing_id = store.add(x28, int(label), canvas=rgba, model=model_key)
        n = store.count()
    except visitor.QuotaError as e:
        st.error(f"Not saved: {e}.")
        return
    except (StoreError, ValueError) as e:
        st.error("Not saved: " + visitor.tell(e, "the server's store failed. Try again later."))
        return
    st.session_state[stamp_key] = stamp
    saved = (f"Saved drawing #{drawing_id} as a {label}" if what == "drawing"
             else f"Saved the {what} as drawing #{drawing_id}, a {label}")
    st.success(f"{saved}. You have {n} stored drawing{'s' * (n != 1)}: fine-tune the model on them below, or see "
               "how it does on them on the Evaluate page.")


def _check_drawing_room(store):
    """Public mode: QuotaError when the visitor has as many drawings as allowed, or the server's space is full;
    else the visitor's folder is ready for the new drawing."""
    limit = visitor.limits().drawings
    if store.count() >= limit:
        raise visitor.QuotaError(f"you have {limit} stored drawings, as many as this app keeps for a visitor. "
                                 "Delete some on the Evaluate page first")
    visitor.check_room(MAX_ROW_BYTES)             # the most one drawing costs on disk (ui/core/store.py)
    visitor.claim()


def teach_panel(model, model_key):
    """Save the drawing with its right label, fine-tune the current model on the stored drawings mixed with
    MNIST, then keep or discard the result. Outside the Draw page's fragment: strokes do not rerun it."""
    st.subheader("Teach the model your handwriting", divider="gray")
    correction(model_key, *session.drawing())
    pending = session.pending_finetune()
    if pending and pending["base_key"] == model_key:
        _show_result(pending)
        return
    store = cached.drawings_store()
    n = store.count() if store is not None else 0
    if not n:
        st.caption("Save a few drawings with **Wrong? It's a …** first; then fine-tune the model on them here.")
        return
    st.caption(f"A few seconds of training on your {n} stored drawing{'s' * (n != 1)} (slightly shifted, turned "
               "and scaled each time), mixed with MNIST images so the model does not forget MNIST. "
               "The model in use is not changed: you keep or discard the result.")
    button = st.button(f"Fine-tune on my {n} drawing{'s' * (n != 1)}", key="finetune",
                       icon=":material/model_training:")
    if button and session.room_for_model():
        st.error(f"Not fine-tuned: {session.room_for_model()}.")
    elif button and _run_finetune(model, model_key, store):
        st.rerun()                              # the Draw panel above shows the fine-tuned model's guess too


def finetuned_guess(before, x28):
    """While a fine-tuned copy of the current model waits for Keep or Discard: its verdict for the drawing, and
    the current model's `before` (inside the Draw panel, so it follows every stroke). The same rule as every
    page's (cnn.teach.notdigit.verdict), with the fine-tuned model's own temperature."""
    pending = session.pending_finetune()
    if not pending or pending["base_key"] != session.model_key() or before is None:
        return
    after = notdigit.verdict(pending["model"], x28)

    def said(v):
        return str(v["digit"]) if v["kind"] == "digit" else v["kind"]
    st.metric("After fine-tuning", said(after), delta=f"{after['probs'].max():.0%} for {after['digit']}; it was "
              f"{said(before)} ({before['probs'].max():.0%} for {before['digit']})", delta_color="off",
              delta_arrow="off", help="The fine-tuned model's verdict for the drawing on the canvas, and the "
              "current model's (calibrated, each with its own temperature).")


def _run_finetune(model, model_key, store):
    """Fine-tune with a progress bar; the result (with its before/after figures) waits in session state."""
    _, user_x, user_y = store.arrays()
    try:
        x_train, y_train, x_test, y_test, note = cached.mnist_or_subset()
    except cnn.MnistError as e:                                      # even the committed subset is missing
        st.error(f"Fine-tuning needs MNIST images to mix in, and none can be read: {e}")
        return None
    x_test, y_test = x_test[:EVAL_IMAGES], y_test[:EVAL_IMAGES]
    if note:
        note += " Fine-tuning mixes in the 1,000 committed training images instead."
        st.warning(note)
    bar = st.progress(0.0, text="Fine-tuning…")

    def progress(step, n_steps, loss):
        if step % 10 == 0:
            bar.progress(step / n_steps, text=f"Fine-tuning… step {step}/{n_steps}, loss {loss:.3f}")

    leave = st.empty()
    try:
        owners = client.owners(visitor.visitor_id()) if visitor.public() else ()   # one at a time per visitor
        config = FinetuneConfig(seed=len(user_y))
        with admission.TRAINING.slot(on_wait=functools.partial(_queue_notice, bar, leave, []), owners=owners,
                                     cost=config.steps * config.batch_size):
            leave.empty()
            start = time.perf_counter()
            tuned = finetune(model, user_x, user_y, x_train, y_train, config,
                             x_eval=x_test, y_eval=y_test, callback=progress)
            seconds = time.perf_counter() - start
    except admission.Busy as e:
        bar.empty()
        st.error(f"Not fine-tuned: {e}")
        return None
    except (ValueError, cnn.DivergenceError) as e:
        st.error(f"Fine-tuning failed: {e}")
        return None
    bar.empty()
    uncertainty.prepare(tuned, refit=True)                           # its own temperature, not its base's
    pending = {"model": tuned, "base_key": model_key, "seconds": seconds, "n": len(user_y),
               "mine": [float((m.predict(user_x) == user_y).mean()) for m in (model, tuned)],
               "mnist": [cnn.evaluate(model, x_test, y_test)[1], tuned.history[-1]["test_acc"]],
               "n_test": len(y_test), "note": note}
    session.set_pending_finetune(pending)
    return pending


def _queue_notice(bar, leave, shown, position):
    """While the fine-tune waits for a training slot: its place on the progress bar, and a button to leave. A click
    reruns the page: the bar's next update then ends this run, and `slot` leaves the queue."""
    bar.progress(0.0, text=f"Waiting for a free slot: number {position} in the queue (this server trains "
                           f"{admission.TRAINING.slots} model{'s' * (admission.TRAINING.slots != 1)} at a time, "
                           "for every visitor)…")
    if not shown:                                   # once: a widget key may appear once in a run
        leave.button("Leave the queue", key="leave_finetune_queue", icon=":material/logout:")
        shown.append(True)


def _show_result(pending):
    if pending.get("note"):
        st.warning(pending["note"])
    n = pending["n"]
    st.markdown(f"**Fine-tuned in {pending['seconds']:.1f} s** on your {n} drawing{'s' * (n != 1)} mixed with "
                "MNIST; its guess for the drawing on the canvas is shown above, under the current model's.")
    cols = st.columns(2)
    (mine_before, mine_after), (mnist_before, mnist_after) = pending["mine"], pending["mnist"]
    cols[0].metric("Your drawings read right", f"{mine_after:.0%}", delta=f"{mine_after - mine_before:+.0%}")
    cols[1].metric("MNIST test accuracy", f"{mnist_after:.1%}", delta=f"{mnist_after - mnist_before:+.1%}",
                   help=f"On the first {pending['n_test']:,} MNIST test images, before and after.")
    keep, discard = st.columns(2)
    if keep.button("Keep the fine-tuned model", key="keep_finetuned", type="primary", icon=":material/check:",
                   width="stretch"):
        _keep()
        st.rerun(scope="app")
    if discard.button("Discard", key="discard_finetuned", icon=":material/close:", width="stretch"):
        session.set_pending_finetune(None)
        st.rerun()


def _keep():
    """The fine-tuned model joins this session's models and becomes the one in use on every page."""
    pending = session.pending_finetune()
    session.set_pending_finetune(None)
    models = registry.session_models()
    base = pending["base_key"].split(":", 1)[1]
    name = next(f"{base}-tuned-{i}" for i in range(1, 10_000) if f"{base}-tuned-{i}" not in models)
    models[name] = pending["model"]
    registry.select(f"session:{name}")
    held.hold(name, pending["model"])                   # counted against the server's bound (ui/state/held.py)


def upload_panel():
    """Use a weights file (.npz) from the computer; anything else is refused and the model in use stays."""
    st.caption("A `.npz` weights file downloaded from this app or written by `python -m cnn train`.")
    file = st.file_uploader("Model file (.npz)", key="upload_model", max_upload_size=MAX_BYTES // 2**20,
                            help=f"At most {MAX_BYTES // 2**20} MB.")
    uploads.in_use("upload_model", file)
    if file is not None and st.session_state.get("uploaded_id") != file.file_id:
        st.session_state["uploaded_id"] = file.file_id
        st.session_state["upload_message"] = _load_upload(file)
        if st.session_state["upload_message"][0] == "success":
            st.rerun()                                   # every picker and the sidebar show the new model
    kind, message = st.session_state.get("upload_message") or (None, None)
    if file is not None and kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)


def _load_upload(file):
    """-> ("success" | "error", message); a good file joins this session's models and is selected."""
    try:
        if file.size > MAX_BYTES:
            raise cnn.WeightsError(f"{file.name} is {file.size / 2**20:.0f} MB; weights files are at most "
                                   f"{MAX_BYTES // 2**20} MB")
        if visitor.public():
            uploads = uploaded_models()
            visitor.check_uploads(len(uploads), file.size)
        if session.room_for_model():
            raise visitor.QuotaError(session.room_for_model())
        model = cnn.load_model(file.getvalue(), name=file.name)
        uncertainty.prepare(model)                                   # a temperature, when the file has none
    except (cnn.WeightsError, visitor.QuotaError) as e:
        return "error", f"Not loaded: {md_escape(e)}. The model in use has not changed."
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(file.name).stem)[:40] or "model"
    models = registry.session_models()
    name = next(n for n in (f"uploaded-{stem}", *(f"uploaded-{stem}-{i}" for i in range(2, 10_000))) if n not in models)
    models[name] = model
    registry.select(f"session:{name}")
    record_uploads()
    held.hold(name, model)
    what = md_escape(registry.describe(model))
    return "success", f"Loaded {md_escape(file.name)} as **{md_escape(name)}** ({what}); it is now the model in use."


def uploaded_models():
    """{name: Model} of this session's uploaded models (and copies fine-tuned from them)."""
    return {n: m for n, m in list(registry.session_models().items()) if n.startswith("uploaded-")}


def record_uploads():
    """Count this session's uploaded models against public mode's total (call after adding or removing one)."""
    visitor.record_uploads(sum(model_bytes(m) for m in uploaded_models().values()))
