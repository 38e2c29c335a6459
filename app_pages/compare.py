"""Compare: the configuration experiment (weights/experiment.json) and the runs trained in this session."""
import pandas as pd
import streamlit as st

from cnn.studies.study import protocol_key, read_results
from ui.charts import basic as charts
from ui.charts import results
from ui.charts import study as study_charts
from ui.state import registry, session

st.title("Compare configurations")
st.caption("Which architecture learns best? Every configuration of the origin script was trained with "
           "several seeds; lines show the mean over seeds, the shaded band the spread from worst to best seed.")


@st.cache_data(show_spinner=False)
def experiment(path, stamp):           # stamp (size, mtime): a rewritten file is read afresh
    return results.read_experiment(path)


@st.cache_data(show_spinner=False)
def study_records(path, stamp):
    return read_results(path)


views = {"ten": "The origin's ten, trained fully", "study": "Architecture study: 100+ networks"}
view = st.radio("View", list(views), horizontal=True, key="compare_view", label_visibility="collapsed",
                format_func=views.get)
if view == "study":
    study_path = registry.weights_dir() / "study.jsonl"
    stamp = (study_path.stat().st_size, study_path.stat().st_mtime_ns) if study_path.exists() else None
    records, skipped = study_records(study_path, stamp)
    if skipped:
        st.warning(f"{skipped} lines of `{study_path.name}` are not run records and are left out.")
    if not records:
        st.info("No study results yet: `python -m cnn sweep --origin --sample 100` writes them to "
                "`weights/study.jsonl`.")
        st.stop()
    protocol_counts = study_charts.protocols(records)
    protocol = next(iter(protocol_counts))
    if len(protocol_counts) > 1:
        protocol = st.selectbox("Protocol", list(protocol_counts), format_func=study_charts.protocol_label)
    st.info(study_charts.protocol_note(protocol), icon=":material/info:")
    st.caption("Each point is an architecture trained with several seeds under this protocol (`python -m cnn "
               "sweep`); error bars span worst to best seed, the red line is the Pareto front (nothing cheaper is "
               "more accurate), diamonds are the origin's ten. Choose a point (or an architecture in the list "
               "below the charts) to see its curves and train it yourself.")
    table = study_charts.summary(records, protocol)
    depth_col, pool_col, width_col = st.columns(3)
    choices = {c: sorted(table[c].unique().tolist()) for c in ("depth", "pools", "width")}
    depths = depth_col.multiselect("Convolutions", choices["depth"], default=choices["depth"])
    pools = pool_col.multiselect("Poolings", choices["pools"], default=choices["pools"])
    widths = width_col.multiselect("Widest convolution", choices["width"], default=choices["width"])
    shown = study_charts.filter_summary(table, depths, pools, widths)
    st.caption(f"{len(shown)} of {len(table)} architectures, {int(shown['seeds'].sum())} runs.")
    clicked = []
    time_axis = study_charts.time_axis(shown)
    for column, x in zip(st.columns(2), ("params", time_axis), strict=True):
        event = column.plotly_chart(study_charts.tradeoff_figure(shown, x), key=f"study_{x}", on_select="rerun",
                                    selection_mode="points")
        clicked += [p["customdata"][0] for p in event.selection.points if p.get("customdata")]
    st.caption(study_charts.chart_note(shown, time_axis))
    archs = sorted(shown["arch"])
    if clicked and clicked[-1] != st.session_state.get("study_clicked") and clicked[-1] in archs:
        st.session_state["study_arch"] = clicked[-1]                   # a click chooses in the list too
    st.session_state["study_clicked"] = clicked[-1] if clicked else None
    arch = st.selectbox("Architecture", archs, index=None, key="study_arch", placeholder="Choose a point, or here")
    if arch:
        row = table.set_index("arch").loc[arch]
        st.subheader(f"{arch}: learning curves")
        st.caption(f"{row['acc']:.1%} test accuracy (mean of {int(row['seeds'])} seeds) under this protocol. "
                   "Mean over seeds; the band spans worst to best seed; dotted: training figures.")
        runs = [r for r in records if r["arch"] == arch and protocol_key(r["protocol"]) == protocol]
        curves = results.per_epoch(results.runs_frame(runs))
        acc_col, loss_col = st.columns(2)
        acc_col.plotly_chart(charts.curves_figure(curves, "test_acc", True), key="study_curves_acc")
        loss_col.plotly_chart(charts.curves_figure(curves, "test_loss", True), key="study_curves_loss")
        request, cost = study_charts.train_request(arch, protocol, row)
        st.button(f"Train {arch} in the sidebar", icon=":material/model_training:",
                  on_click=session.ask_sidebar_to_train, args=(request,),
                  help="Sets the sidebar's whole form to this protocol; press Start there.")
        st.caption(cost)
    st.dataframe(study_charts.front_table(table), hide_index=True)
    st.stop()


path = registry.weights_dir() / "experiment.json"
protocols = {}
if path.exists():
    try:
        protocols = experiment(path, (path.stat().st_size, path.stat().st_mtime_ns))
    except results.ResultsError as e:
        st.error(f"The experiment results cannot be read: {e}. Re-run `python -m cnn experiment`.")
else:
    st.info("No experiment results yet (`weights/experiment.json` is missing; `python -m cnn experiment` writes "
            "it). Showing only the runs trained in this session.")

names = list(protocols) or ["full"]
titles = {"origin": "The origin's protocol", "full": "The full protocol"}
protocol = st.segmented_control("Protocol", names, default="full" if "full" in names else names[0],
                                format_func=lambda p: titles.get(p, p), required=True)
if protocol in protocols and protocols[protocol].get("description"):
    st.caption(protocols[protocol]["description"])

mine = [{"arch": name, "seed": m.meta.get("seed", 0), "params": m.n_params, "history": m.history}
        for name, m in list(registry.session_models().items())]   # a snapshot: ui/state/held.py may drop one
frame = pd.concat([results.runs_frame(protocols.get(protocol, {}).get("runs", [])),
                   results.runs_frame(mine, label_suffix=" (yours)")], ignore_index=True)
if frame.empty:
    st.info("Nothing to compare yet: train a model in the sidebar and it appears here.")
    st.stop()

configs = list(dict.fromkeys(frame["config"]))
chosen = st.multiselect("Configurations", configs, default=configs)
frame = frame[frame["config"].isin(chosen)]
if frame.empty:
    st.stop()
per_epoch, summary = results.per_epoch(frame), results.summary(frame)

st.subheader("Learning curves")
show_train = st.toggle("Show training curves (dotted)", value=False)
if per_epoch["epoch"].nunique() == 1:
    st.caption("One pass over the data only, so each curve is a single point; the bar chart below compares them.")
acc_col, loss_col = st.columns(2)
acc_col.plotly_chart(charts.curves_figure(per_epoch, "test_acc", show_train), key="curves_acc")
loss_col.plotly_chart(charts.curves_figure(per_epoch, "test_loss", show_train), key="curves_loss")

st.subheader("After the last epoch")
st.caption("The origin's comparison plot, interactive: hover for values; error bars span the seeds.")
st.plotly_chart(charts.final_bars_figure(summary), key="final_bars")
st.dataframe(results.table(summary), hide_index=True, column_config={
    "parameters": st.column_config.NumberColumn(format="localized"),
    "epochs": st.column_config.NumberColumn(format="%d"),
    "seconds / epoch": st.column_config.NumberColumn(format="%.2f"),
    "final test accuracy": st.column_config.NumberColumn(format="%.2f%%"),
    "± std": st.column_config.NumberColumn(format="%.2f%%", help="Standard deviation over seeds"),
    "final test loss": st.column_config.NumberColumn(format="%.4f"),
    "final training accuracy": st.column_config.NumberColumn(format="%.2f%%"),
})
