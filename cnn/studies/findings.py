"""What a study found: per architecture figures over seeds, Pareto fronts, the knee, the effect of depth, width and
pooling at equal cost, and how a protocol ranks the origin's ten against the full protocol (`python -m cnn sweep
--summary` prints them). Plain NumPy."""
import numpy as np

from .study import describe, protocol_key


def summarise(records, protocol):
    """Per architecture of `protocol` (a protocol_key): test accuracy over seeds (mean, std, min, max), seeds,
    parameters, multiply-adds, median wall-clock seconds per epoch, median CPU seconds per epoch of training
    (cpu_s: NaN for records from before runs recorded it) and shape (describe), and whether it is on the Pareto
    front of accuracy against parameters (front_params), epoch time (front_epoch_s) and CPU time (front_cpu_s)."""
    by_arch = {}
    for r in records:
        if protocol_key(r["protocol"]) == protocol:
            by_arch.setdefault(r["arch"], []).append(r)
    rows = []
    for arch, runs in by_arch.items():
        acc = np.array([r["final"]["test_acc"] for r in runs])
        rows.append({"arch": arch, "acc": acc.mean(), "std": acc.std(ddof=1) if len(acc) > 1 else 0.0,
                     "lo": acc.min(), "hi": acc.max(), "seeds": len(runs), "params": runs[0]["params"],
                     "macs": runs[0]["macs"], "epoch_s": float(np.median([r["epoch_s"] for r in runs])),
                     "cpu_s": float(np.median([cpu_per_epoch(r) for r in runs])), **describe(arch)})
    for cost in ("params", "epoch_s", "cpu_s"):
        front = pareto([r[cost] for r in rows], [r["acc"] for r in rows])
        for row, on in zip(rows, front, strict=True):
            row[f"front_{cost}"] = bool(on)
    return rows


def cpu_per_epoch(record):
    """CPU seconds per epoch of the run's training (one process, one BLAS thread): unlike wall-clock time, what
    other work on a loaded machine does not inflate. NaN for a record without it."""
    return record.get("train_cpu_s", float("nan")) / len(record["history"])


def time_cost(rows):
    """The time to compare architectures by: CPU time when every row has it, else wall-clock epoch time."""
    return "cpu_s" if rows and all(np.isfinite(r["cpu_s"]) for r in rows) else "epoch_s"


def pareto(cost, acc):
    """True where no other point is at most as costly and at least as accurate, and better in one of the two."""
    cost, acc = np.asarray(cost, float), np.asarray(acc, float)
    dominated = ((cost[None, :] <= cost[:, None]) & (acc[None, :] >= acc[:, None])
                 & ((cost[None, :] < cost[:, None]) | (acc[None, :] > acc[:, None])))   # (i, j): j dominates i
    return ~dominated.any(axis=1)


def knee(rows, cost="params"):
    """The knee of the Pareto front of accuracy against log cost: the front's point farthest above the straight
    line from its cheapest to its most accurate point (None with fewer than 3 points on the front)."""
    front = sorted((r for r in rows if r[f"front_{cost}"]), key=lambda r: r[cost])
    if len(front) < 3:
        return None
    lx, acc = np.log10([r[cost] for r in front]), np.array([r["acc"] for r in front])
    above = (acc - acc[0]) / max(acc[-1] - acc[0], 1e-12) - (lx - lx[0]) / (lx[-1] - lx[0])
    return front[int(np.argmax(above))]


MIN_ARCHS_PER_TERM = 3     # a fit of the 6 terms below from fewer than 18 architectures is reported as unreliable


def effects(rows, cost="params"):
    """Least squares of test accuracy (points, i.e. percent) on log2(cost), convolutions, poolings, log2(widest
    convolution) and hidden dense layers: each coefficient is what that change buys at equal cost. Returns the
    coefficients and R²; with few architectures both say little (see effects_warning)."""
    names = [f"log2 {cost}", "convolutions", "poolings", "log2 width", "dense layers"]
    x = np.array([[1.0, np.log2(r[cost]), r["depth"], r["pools"], np.log2(r["width"]), r["dense"]] for r in rows])
    y = np.array([100 * r["acc"] for r in rows])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    r2 = 1 - residual.var() / y.var() if y.var() > 0 else float("nan")   # one architecture: nothing to explain
    return dict(zip(names, coef[1:], strict=True)), float(r2)


def effects_warning(rows):
    """Why a fit of effects from these rows cannot be trusted, or None: with barely more architectures than
    terms a least-squares fit matches them closely (R² near 1) whatever the truth."""
    needed = MIN_ARCHS_PER_TERM * 6
    if len(rows) < needed:
        return (f"only {len(rows)} architectures for 6 fitted terms (at least {needed} are needed): the effects and "
                f"R² below are not evidence")
    return None


def ranks(values):
    """1 for the largest value, 2 for the next, ... (ties broken by order)."""
    order = np.argsort(-np.asarray(values, float), kind="stable")
    out = np.empty(len(order), int)
    out[order] = np.arange(1, len(order) + 1)
    return out


def rank_check(rows, reference):
    """The origin's ten as ranked by a study (rows) and by a reference {arch: mean test accuracy}, e.g. the full
    protocol's: [(arch, reference acc, its rank, study acc, its rank)], and Spearman's rank correlation."""
    accs = {r["arch"]: r["acc"] for r in rows}
    archs = [a for a in reference if a in accs]
    ref, mine = ranks([reference[a] for a in archs]), ranks([accs[a] for a in archs])
    rho = float(np.corrcoef(ref, mine)[0, 1]) if len(archs) > 2 else float("nan")
    return [(a, reference[a], int(r), accs[a], int(m)) for a, r, m in zip(archs, ref, mine, strict=True)], rho


def report(records, protocol, reference):
    """The study's findings as Markdown: the rank check, the effects at equal cost, the knees and the fronts."""
    rows = summarise(records, protocol)
    lines = [f"{len(rows)} architectures, {sum(r['seeds'] for r in rows)} runs; protocol {protocol}", ""]
    table, rho = rank_check(rows, reference)
    if not reference:
        lines += ["No rank check: no full-protocol results to compare with (give --reference experiment.json)", ""]
    elif len(table) < 3:
        lines += [f"No rank check: only {len(table)} of the origin's ten are in this study (3 are needed)", ""]
    else:
        lines += ["| arch | full protocol | rank | this protocol | rank |", "|---|---|---|---|---|"]
        lines += [f"| {a} | {f:.4f} | {fr} | {s:.4f} | {sr} |"
                  for a, f, fr, s, sr in sorted(table, key=lambda t: t[2])]
        lines += [f"Spearman's rank correlation with the full protocol: {rho:.2f}", ""]
    warning = effects_warning(rows)
    if warning:
        lines.append(f"warning: {warning}")
    time = time_cost(rows)
    for cost in ("params", "macs", time):
        coefs, r2 = effects(rows, cost)
        lines.append(f"at equal {cost} (R² {r2:.2f}): " + ", ".join(f"{k} {v:+.2f} points" for k, v in coefs.items()))
    for factor in ("depth", "pools", "width"):
        lines += ["", f"| {factor} | architectures | mean test acc | best | its params | its {time} |",
                  "|---|---|---|---|---|---|"]
        for value in sorted({r[factor] for r in rows}):
            group = [r for r in rows if r[factor] == value]
            best = max(group, key=lambda r: r["acc"])
            lines.append(f"| {value} | {len(group)} | {np.mean([r['acc'] for r in group]):.4f} | {best['arch']} "
                         f"{best['acc']:.4f} | {best['params']:,} | {best[time]:.2f} |")
    for cost in ("params", time):
        k = knee(rows, cost)
        front = sorted((r for r in rows if r[f"front_{cost}"]), key=lambda r: r[cost])
        lines += ["", f"Pareto front against {cost}; knee: {k['arch'] if k else '-'}",
                  f"| arch | params | macs | {time} | test acc | ± std |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['arch']} | {r['params']:,} | {r['macs']:,} | {r[time]:.2f} | {r['acc']:.4f} | "
                  f"{r['std']:.4f} |" for r in front]
    return "\n".join(lines)
