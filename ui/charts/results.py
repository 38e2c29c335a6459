"""The configuration experiment (weights/experiment.json) as tidy tables. No Streamlit, no cnn.

experiment.json: {"format": 1, "protocols": {"origin": {"description": str, "runs": [run, ...]},
"full": {...}}}, where a run is {"arch", "seed", "params", "history": [{"epoch", "train_loss",
"train_acc", "test_loss", "test_acc", "seconds"}, ...]}.
"""
import json

import pandas as pd

METRICS = ["train_loss", "train_acc", "test_loss", "test_acc", "seconds"]
RUN_COLUMNS = ["config", "seed", "params", "epoch", *METRICS]


class ResultsError(ValueError):
    """experiment.json is missing pieces or is not JSON."""


def read_experiment(path):
    """{protocol: {"description": str, "runs": [...]}} from experiment.json; ResultsError when malformed."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"cannot read {path.name}: {e}") from None
    protocols = data.get("protocols") if isinstance(data, dict) else None
    if not isinstance(protocols, dict):
        raise ResultsError(f"{path.name} has no 'protocols' object")
    return {name: p for name, p in protocols.items() if isinstance(p, dict) and isinstance(p.get("runs"), list)}


def runs_frame(runs, label_suffix=""):
    """One row per (run, epoch): config, seed, params, epoch and the metrics."""
    rows = []
    for run in runs:
        if not isinstance(run, dict) or not isinstance(run.get("history"), list):
            continue
        for record in run["history"]:
            if not isinstance(record, dict):
                continue
            row = {"config": f"{run.get('arch', '?')}{label_suffix}", "seed": run.get("seed", 0),
                   "params": run.get("params")}
            row.update({k: record.get(k) for k in ["epoch", *METRICS]})
            rows.append(row)
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    numeric = ["params", "epoch", *METRICS]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")     # a malformed value becomes NaN
    frame["config"] = frame["config"].astype(str)
    return frame.dropna(subset=["epoch", "test_acc", "test_loss"])


def per_epoch(frame):
    """Mean, min, max and std over seeds of every metric, per configuration and epoch."""
    stats = frame.groupby(["config", "epoch"], sort=False)[METRICS].agg(["mean", "min", "max", "std"])
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    return stats.reset_index()


def summary(frame):
    """Per configuration: params, seeds, seconds per epoch, and the last epoch's metrics over seeds."""
    last = frame[frame["epoch"] == frame.groupby(["config", "seed"])["epoch"].transform("max")]
    stats = last.groupby("config", sort=False)[["train_loss", "train_acc", "test_loss", "test_acc"]]
    out = stats.agg(["mean", "min", "max", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out["params"] = frame.groupby("config", sort=False)["params"].first()
    out["seeds"] = frame.groupby("config", sort=False)["seed"].nunique()
    out["epochs"] = last.groupby("config", sort=False)["epoch"].mean()
    out["seconds_per_epoch"] = frame.groupby("config", sort=False)["seconds"].mean()
    return out.reset_index()


def table(summary_frame):
    """The comparison table shown to the user; accuracies in percent."""
    s = summary_frame
    return pd.DataFrame({
        "configuration": s["config"], "parameters": s["params"], "seeds": s["seeds"], "epochs": s["epochs"],
        "seconds / epoch": s["seconds_per_epoch"], "final test accuracy": 100 * s["test_acc_mean"],
        "± std": 100 * s["test_acc_std"].fillna(0), "final test loss": s["test_loss_mean"],
        "final training accuracy": 100 * s["train_acc_mean"],
    })
