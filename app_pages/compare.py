"""Compare: the configuration experiment (weights/experiment.json) and the runs trained in this session."""
import pandas as pd
import streamlit as st

from ui import charts, results, state

st.title("Compare configurations")
st.caption("Which architecture learns best? Every configuration of the origin script was trained with "
           "several seeds; lines show the mean over seeds, the shaded band the spread from worst to best seed.")


@st.cache_data(show_spinner=False)
def experiment(path, stamp):           # stamp (size, mtime): a rewritten file is read afresh
    return results.read_experiment(path)


path = state.weights_dir() / "experiment.json"
protocols = {}
if path.exists():
    try:
        protocols = experiment(path, (path.stat().st_size, path.stat().st_mtime_ns))
    except results.ResultsError as e:
        st.error(f"The experiment results cannot be read: {e}. Re-run `python -m cnn.experiment`.")
else:
    st.info("No experiment results yet (`weights/experiment.json` is missing; `python -m cnn.experiment` writes "
            "it). Showing only the runs trained in this session.")

names = list(protocols) or ["full"]
titles = {"origin": "The origin's protocol", "full": "The full protocol"}
protocol = st.segmented_control("Protocol", names, default="full" if "full" in names else names[0],
                                format_func=lambda p: titles.get(p, p), required=True)
if protocol in protocols and protocols[protocol].get("description"):
    st.caption(protocols[protocol]["description"])

mine = [{"arch": name, "seed": m.meta.get("seed", 0), "params": m.n_params, "history": m.history}
        for name, m in state.session_models().items()]
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
