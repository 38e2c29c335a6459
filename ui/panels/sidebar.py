"""The sidebar on every page: a training form, the live progress of a run, and the models trained here."""
import dataclasses

import streamlit as st

import cnn
from cnn.engine.arch import HELP
from cnn.engine.training import MAX_BATCH, MAX_SEED
from cnn.files.mnist import load_subset
from cnn.files.weights import save_model, to_bytes
from ui.charts import basic as charts
from ui.core import admission
from ui.core.jobs import TrainingJob
from ui.core.model_cache import model_bytes
from ui.core.text import md_escape
from ui.panels import uncertainty
from ui.panels.draw import corrections
from ui.panels.inside import watch_panel
from ui.state import client, held, registry, session, visitor

POLL_SECONDS = 0.5
MNIST, SUBSET = "MNIST (60,000 images)", "Committed subset (1,000 images)"


def render():
    _collect_finished_job()
    if st.session_state.get("my_model") in held.tell_dropped():   # public mode: models dropped from memory
        st.session_state.pop("my_model")
    with st.sidebar:
        st.header("Train a model", divider="gray")
        request, messages = _form()
        if request is None and "retry_on_subset" in st.session_state:
            request = dict(st.session_state.pop("retry_on_subset"), source=SUBSET)
        if request is not None:
            _start(request, messages)
        if session.training_job() is not None:
            _job_panel()
        _offer()
        _my_models()


CUSTOM_ARCH = "sidebar_arch"     # the form's "…or type your own" architecture input
FORM = {"preset": "sidebar_preset", "epochs": "sidebar_epochs", "batch_size": "sidebar_batch", "lr": "sidebar_lr",
        "seed": "sidebar_seed", "n_train": "sidebar_n_train", "source": "sidebar_source",
        "optimizer": "sidebar_optimizer", "activation": "sidebar_activation"}     # field -> widget key
EXTRA = "sidebar_extra_archs"    # architectures another page put in the Architecture list (beyond the origin's)


def _defaults():
    d = cnn.TrainConfig()
    return {"preset": "c16pc16", "epochs": 1, "batch_size": d.batch_size, "lr": d.lr, "seed": d.seed,
            "n_train": 10000, "source": MNIST, "optimizer": d.optimizer, "activation": cnn.engine.spec.ACTIVATIONS[0]}


def _fill_form(request):
    """Put a whole request from another page (the Compare study's protocol) into the form: the architecture
    in the Architecture list (added to it when not one of the origin's), the typed box emptied."""
    arch = request["arch"]
    extra = st.session_state.setdefault(EXTRA, [])
    if arch not in registry.ORIGIN_CONFIGS and arch not in extra:
        extra.append(arch)
    st.session_state[FORM["preset"]], st.session_state[CUSTOM_ARCH] = arch, ""
    for field, value in request.items():
        if field in FORM and field != "preset":
            st.session_state[FORM[field]] = value


def _form():
    """The hyperparameters: (a dict when Start was pressed, else None; a container for messages)."""
    job = session.training_job()
    busy = job is not None and not job.done
    for field, value in _defaults().items():           # the widgets take their values from these keys only
        st.session_state.setdefault(FORM[field], value)
    if (request := session.take_train_request()) is not None:      # asked for by another page (the Compare study)
        _fill_form(request)
    with st.form("train_form", border=False):
        preset = st.selectbox("Architecture", registry.ORIGIN_CONFIGS + st.session_state.get(EXTRA, []),
                              key=FORM["preset"],
                              help="The origin's configurations (and any sent from the Compare page): c<N> is a "
                                   "3x3 convolution with N filters, p a 2x2 max pooling; a softmax layer always "
                                   "ends the network.")
        custom = st.text_input("…or type your own", placeholder="e.g. c32pc64pd128", max_chars=100,
                               key=CUSTOM_ARCH, help="Overrides the preset when filled. " + HELP)
        left, right = st.columns(2)
        epochs = left.number_input("Epochs", min_value=1, max_value=100, key=FORM["epochs"])
        batch = right.number_input("Batch size", min_value=1, max_value=MAX_BATCH, step=16, key=FORM["batch_size"])
        lr = left.number_input("Learning rate", min_value=0.0, step=0.0005, format="%g", key=FORM["lr"])
        seed = right.number_input("Seed", min_value=0, max_value=MAX_SEED, key=FORM["seed"])
        n_train = st.number_input("Training images", min_value=1, max_value=60000, step=1000, key=FORM["n_train"])
        source = st.radio("Training data", [MNIST, SUBSET], key=FORM["source"],
                          help="The subset ships with the repository and needs no download.")
        with st.expander("More options"):
            optimizer = st.selectbox("Optimizer", ["adam", "sgd"], key=FORM["optimizer"])
            activation = st.selectbox("Activation", cnn.engine.spec.ACTIVATIONS, key=FORM["activation"],
                                      help="'none' reproduces the origin's networks, which had no activation.")
        submitted = st.form_submit_button("Start training", type="primary", disabled=busy,
                                          icon=":material/model_training:", width="stretch")
    messages = st.container()                          # errors show right under the form
    if not submitted:
        return None, messages
    return dict(arch=(custom or "").strip() or preset, epochs=int(epochs), lr=float(lr), batch_size=int(batch),
                seed=int(seed), n_train=int(n_train), optimizer=optimizer, activation=activation,
                source=source), messages


def _start(request, box):
    """Check the request, load the data and start a training thread; errors are shown inline in `box`."""
    if session.training_job() is not None and not session.training_job().done:
        return                                         # one run per session (the button is disabled meanwhile)
    if session.room_for_model():
        box.error(f"**Not started:** {session.room_for_model()}.")
        return
    fields = {f.name for f in dataclasses.fields(cnn.TrainConfig)}
    config = cnn.TrainConfig(**{k: v for k, v in request.items() if k in fields})
    try:
        spec = cnn.NetSpec(request["arch"], request["activation"])
    except cnn.ArchError as e:
        box.error(f"**Architecture:** {md_escape(e)}")
        return
    try:
        data = _load_data(request["source"], box)
    except cnn.MnistError as e:
        box.error("**MNIST is not available.** " + visitor.tell(e, "The server cannot read the MNIST files."))
        box.button("Train on the committed subset instead", key="use_subset",
                   on_click=lambda: st.session_state.update(retry_on_subset=request))
        return
    if request["source"] == SUBSET and config.n_train > len(data[0]):
        config.n_train = len(data[0])
        box.info(f"The subset holds {len(data[0]):,} training images; training on all of them.")
    try:
        config.validate(len(data[0]))
        _check_size(config)
        model = cnn.build_model(spec, seed=config.seed)
    except ValueError as e:
        box.error(f"**Settings:** {e}")
        return
    n = st.session_state.get("job_counter", 0) + 1
    public = visitor.public()          # one run per visitor and per address, and a time slice when others wait
    job = TrainingJob(f"{spec.arch}-{n}", model, data, config, alive=registry.session_alive(),
                      admission=admission.TRAINING, owners=client.owners(visitor.visitor_id()) if public else (),
                      slice_s=admission.slice_seconds() if public else None)
    job.recorder = watch_panel.recorder(model, data, config)          # snapshots for "Watch it learn"
    try:
        job.start()
    except admission.Busy as e:
        box.error(f"**Not started:** {e}")
        return
    st.session_state["job_counter"], st.session_state[session.JOB], st.session_state["job_collected"] = n, job, False


def _check_size(config):
    """Public mode: ValueError when the run would train on more images (epochs x training images) than allowed."""
    cap = admission.max_images()
    if visitor.public() and config.epochs * config.n_train > cap:
        raise ValueError(f"this server trains at most {cap:,} images per run (epochs x training images; you asked "
                         f"for {config.epochs} x {config.n_train:,}), so that every visitor gets a turn. Choose "
                         "fewer epochs or training images")


def _load_data(source, box):
    if source == SUBSET:
        return load_subset()
    with box.status("Loading MNIST…") as status:
        bar = st.progress(0.0)
        data = cnn.load_mnist(progress=lambda message, fraction: bar.progress(fraction or 0.0, text=message))
        status.update(label="MNIST ready", state="complete")
    return data


def _collect_finished_job():
    """Once a run has ended, its model joins this session's models and is offered (see _offer); the model in
    use stays until the student chooses: a guess must not change under their eyes because a run ended."""
    job = session.training_job()
    if job is None or not job.done or st.session_state.get("job_collected"):
        return
    st.session_state["job_collected"] = True
    if job.model.history:                      # at least one (possibly partial) epoch was recorded
        uncertainty.prepare(job.model)                 # its temperature, on held-out test images
        registry.session_models()[job.name] = job.model
        st.session_state[OFFER] = job.name
        st.session_state["my_model"] = job.name       # the one the save and download buttons act on
        held.hold(job.name, job.model)                # counted against the server's bound (ui/state/held.py)


OFFER = "offered_model"          # a model just trained here, offered with "Use it" until used or dismissed


def _offer():
    name = st.session_state.get(OFFER)
    model = registry.session_models().get(name)        # None once removed, or dropped (ui/state/held.py)
    if model is None or session.model_key() == f"session:{name}":
        st.session_state.pop(OFFER, None)
        return
    with st.container(border=True, key="offer"):
        st.markdown(f"**{md_escape(name)} is ready** ({registry.describe(model)} test accuracy). The pages still "
                    "use the model chosen before; use the new one?")
        use, later = st.columns(2)
        use.button("Use it", key="use_offered", type="primary", on_click=_use_offered, args=(name,),
                   icon=":material/check:")
        later.button("Not now", key="dismiss_offer", on_click=lambda: st.session_state.pop(OFFER, None))


def _use_offered(name):
    registry.select(f"session:{name}")
    st.session_state.pop(OFFER, None)


def _job_panel():
    job = session.training_job()
    st.fragment(run_every=None if job.done else POLL_SECONDS)(_job_status)()


def _job_status():
    """Progress, live curves and Stop; polled every POLL_SECONDS while the thread trains."""
    job = session.training_job()
    s = job.snapshot()
    cfg = job.config
    if s["status"] == "left" or (s["status"] == "queued" and s["position"]):
        _queue_status(job, s)
        return
    if s["status"] == "failed":
        label, st_state = f"{job.name}: failed", "error"
    elif job.done:
        acc = s["epochs"][-1]["test_acc"] if s["epochs"] else None
        how = "stopped" if s["status"] == "stopped" else "done"
        label, st_state = f"{job.name}: {how}" + (f", {acc:.1%} test accuracy" if acc is not None else ""), "complete"
    else:
        label, st_state = f"Training {job.name}…", "running"
    with st.status(label, state=st_state, expanded=not job.done or s["status"] == "failed"):
        text = (f"epoch {s['epoch']}/{cfg.epochs} · batch {s['batch']}/{s['n_batches']}"
                + (f" · loss {s['loss']:.3f}" if s["loss"] is not None else "") + f" · {s['elapsed']:.0f} s")
        st.progress(s["fraction"], text=text)
        if s["points"] or s["epochs"]:
            st.plotly_chart(charts.training_figure(s["points"], s["epochs"]), key="live_training",
                            config={"displayModeBar": False})
            st.caption("Blue: training (running mean over the epoch so far); orange: test, after each epoch.")
        if s["error"]:
            st.error(s["error"])
        if s["gave_way"]:
            st.info(f"Stopped after {admission.slice_seconds():.0f} s of training because other visitors were "
                    "waiting for the server's training slot; the model trained so far is kept.",
                    icon=":material/groups:")
        if not job.done:
            st.button("Stop", on_click=_stop, args=(job,), key="stop_training", icon=":material/stop_circle:",
                      disabled=s["status"] == "stopping", width="stretch",
                      help="Stops within a second and keeps the model trained so far.")
    if job.done and not st.session_state.get("job_collected"):
        st.rerun()                                    # the whole app picks up the new model


def _queue_status(job, s):
    """A run waiting for a slot: its place in the queue, and a button to leave it."""
    if s["status"] == "left":
        if s["error"]:
            st.warning(f"{job.name} did not train: {s['error']}.", icon=":material/logout:")
        else:
            st.info(f"{job.name} left the queue without training.", icon=":material/logout:")
        return
    slots = admission.TRAINING.slots
    ahead = s["position"] - 1
    with st.status(f"{job.name}: waiting, number {s['position']} in the queue", state="running", expanded=True):
        st.write(f"This server trains {slots} model{'s' * (slots != 1)} at a time, for every visitor. Yours starts "
                 + (f"when the {ahead} run{'s' * (ahead != 1)} ahead of it and " if ahead > 0 else "when ")
                 + f"the one{'s' * (slots != 1)} training now {'are' if slots != 1 else 'is'} done "
                 "(or stopped); keep this tab open."
                 + (f" Smaller runs go first, and a run that has trained {admission.slice_seconds():.0f} s gives way "
                    "to those waiting." if visitor.public() else ""))
        st.button("Leave the queue", on_click=_stop, args=(job,), key="leave_queue", icon=":material/logout:",
                  width="stretch")


def _stop(job):
    job.stop()
    job.wait(timeout=1.0)        # usually ends within a part of a batch: show the result in this rerun


def _my_models():
    """This session's models: use, save (locally into weights/, in public mode into the visitor's own models),
    download or remove one; then what is kept and who sees it."""
    models = registry.session_models()
    if models:
        st.header("Your models", divider="gray")
        name = st.selectbox("Trained in this session", list(models), key="my_model")
        model = models.get(name)
        if model is None:                                # dropped from memory meanwhile (ui/state/held.py)
            return
        st.caption(f"{registry.describe(model)} test accuracy · {model.n_params:,} parameters")
        use, remove = st.columns(2)
        if session.model_key() != f"session:{name}":
            use.button("Use for prediction", key="use_model", on_click=registry.select, args=(f"session:{name}",))
        remove.button("Remove", key="remove_model", on_click=_remove, args=(name,),
                      help="Forget this model in this session (download or save it first to keep it).")
        _save_form(name, model)
        npz = st.session_state.get("npz_bytes")              # one download copy: the model shown here
        if npz is None or npz[:2] != (name, id(model)):
            npz = st.session_state["npz_bytes"] = (name, id(model), to_bytes(model))
        st.download_button("Download .npz", data=npz[2], file_name=f"{name}.npz", mime="application/octet-stream",
                           icon=":material/download:", key="download_model")
    with st.expander("Your data: what is kept", icon=":material/lock:"):
        st.markdown(visitor.privacy_note())


def _save_form(name, model):
    public = visitor.public()
    with st.form("save_form", border=False):
        target = st.text_input("Save as", value=name, max_chars=64, help="Letters, digits, - and _. " + (
            "Kept for you only (see Your data below)." if public else
            "Saved into weights/; shipped files are never replaced."))
        save = st.form_submit_button("Save to my models" if public else "Save to weights/", icon=":material/save:")
    if save:
        _save(model, target, registry.saved_here())


def _save(model, target, saved):
    public = visitor.public()
    try:
        path = registry.check_save_name(target, saved)
        if public:
            visitor.check_room(model_bytes(model))
            visitor.claim()
            path.parent.mkdir(exist_ok=True)
        save_model(model, path, replace=path.stem in saved)     # only this session's (visitor's) own files
    except ValueError as e:                                      # a bad name, or a quota (QuotaError)
        st.error(f"Not saved: {e}.")
    except FileExistsError:
        st.error(f"Not saved: weights/{path.name} was just saved by another session; choose another name.")
    except OSError as e:
        where = visitor.tell(e, "the server cannot store it now") if public else \
            f"cannot write to weights/ ({e.strerror or e})"
        st.error(f"Not saved: {where}. The model is still here; download it instead.")
    else:
        if not public:
            saved.add(path.stem)
        st.success(f"Saved as **{md_escape(path.stem)}** in your models: every page's model list offers it." if public
                   else f"Saved as weights/{path.name}.")


def _remove(name):
    """Forget a session model; when it was in use, the first model in the list takes its place."""
    registry.session_models().pop(name, None)
    held.forget(name)
    st.session_state.pop("my_model", None)
    corrections.record_uploads()
    if session.model_key() == f"session:{name}":
        keys = registry.options()
        registry.select(keys[0] if keys else None)
