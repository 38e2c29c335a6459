"""Pure chart functions: data in, Plotly figure (or HTML, or an image) out. No Streamlit, no cnn: unit-testable."""
import base64
from html import escape

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.core.store import png_bytes

HIGHLIGHT = "#ff4b4b"   # the predicted digit
MUTED = "#8da0cb"       # every other digit
PALETTE = px.colors.qualitative.D3 + px.colors.qualitative.Pastel
METRIC_NAMES = {"test_acc": "test accuracy", "test_loss": "test loss",
                "train_acc": "training accuracy", "train_loss": "training loss"}


def _compact(fig, height):
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def probability_bars(probs, height=180):
    """The 10 class probabilities as an HTML bar chart (for st.html): bars on a fixed 0-100% scale with
    gridlines every 25%, the most likely digit highlighted, each bar's percentage above it and its digit
    below; hovering a bar shows its exact probability. Each bar carries data-digit and data-p (the
    probability) for tests. Plain HTML, not Plotly: this is redrawn after every stroke, and a Plotly chart
    cost the browser several times more work per stroke than the whole chart does now."""
    probs = np.asarray(probs, dtype=float).ravel()                       # (10,)
    best = int(probs.argmax())
    grid = ("repeating-linear-gradient(to top, rgba(128,128,128,0.25) 0 1px, transparent 1px 25%)")
    bars = []
    for d, p in enumerate(probs):
        color = HIGHLIGHT if d == best else MUTED
        bars.append(
            f'<div title="digit {d}: {p:.1%}" style="flex:1;display:flex;flex-direction:column;'
            f'justify-content:flex-end;align-items:center;height:100%">'
            f'<span style="font-size:0.7rem;opacity:0.85;white-space:nowrap">{p:.0%}</span>'
            f'<div data-digit="{d}" data-p="{p:.6f}" style="width:70%;height:{100 * p:.2f}%;min-height:1px;'
            f'background:{color};border-radius:2px 2px 0 0"></div></div>')
    digits = "".join(f'<span style="flex:1;text-align:center;font-weight:{"600" if d == best else "400"}">{d}</span>'
                     for d in range(len(probs)))
    return (f'<div class="probability-bars" role="img" aria-label="softmax probabilities of the ten digits" '
            f'style="font-size:0.85rem">'
            f'<div style="display:flex;gap:2px;height:{height}px;padding-top:1.1rem;background:{grid};'
            f'background-clip:content-box;border-bottom:1px solid rgba(128,128,128,0.6)">{"".join(bars)}</div>'
            f'<div style="display:flex;gap:2px;margin-top:2px">{digits}</div>'
            f'<div style="text-align:center;font-size:0.75rem;opacity:0.7">digit</div>'
            f'<div style="font-size:0.875rem;opacity:0.8;margin-top:0.5rem">Softmax probabilities of the ten '
            f'digits: the network\'s confidence in each.</div></div>')


def png_data_uri(image):
    """An image array (uint8 gray, RGB or RGBA) -> a data: URI of its PNG, to put in HTML."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def figures_html(figures, caption=""):
    """Images with their captions, side by side and wrapping, then a caption for them all: one HTML block
    (for st.html). `figures` holds (image array, caption as plain text, name) tuples; each <figure> carries
    data-name. `caption` is HTML (the caller's own markup, never user input). A figure is as wide as its image
    (at least 160 px): its caption wraps under it rather than widening the row.
    The Draw page shows its images this way because it redraws them after every stroke, and one HTML
    element costs the browser less work than an image element per picture."""
    items = "".join(
        f'<figure data-name="{escape(name)}" style="margin:0 0 0.5rem 0;max-width:{max(image.shape[1], 160)}px">'
        f'<img src="{png_data_uri(image)}" alt="{escape(text)}" style="display:block;max-width:100%;'
        f'image-rendering:pixelated">'
        f'<figcaption style="font-size:0.875rem;opacity:0.8;margin-top:0.25rem">{escape(text)}</figcaption>'
        f'</figure>'
        for image, text, name in figures)
    note = f'<div style="font-size:0.875rem;opacity:0.8">{caption}</div>' if caption else ""
    return f'<div style="display:flex;flex-wrap:wrap;gap:0 1.5rem">{items}</div>{note}'


def mosaic(maps, ncols=None, gap=1):
    """(H, W, C) maps -> one 2-D array with the C maps in a grid, NaN in the gaps (drawn blank)."""
    h, w, c = maps.shape
    ncols = ncols or int(np.ceil(np.sqrt(c)))
    nrows = int(np.ceil(c / ncols))
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i in range(c):
        r, q = divmod(i, ncols)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = maps[:, :, i]
    return out


def _normalise_each(maps):
    """Scale every channel of (H, W, C) to [0, 1] on its own, so faint channels stay visible."""
    lo = maps.min(axis=(0, 1), keepdims=True)
    span = maps.max(axis=(0, 1), keepdims=True) - lo
    return (maps - lo) / np.where(span > 0, span, 1)


def _image_figure(z, colorscale, zmin, zmax, height, hover):
    fig = px.imshow(z, color_continuous_scale=colorscale, zmin=zmin, zmax=zmax, aspect="equal")
    fig.update_traces(hovertemplate=hover + "<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(coloraxis_showscale=False, plot_bgcolor="rgba(0,0,0,0)")
    return _compact(fig, height)


def feature_map_figure(maps, ncols=None):
    """One layer's output (H, W, C) as a grid of C small grey images, each scaled to its own range."""
    maps = np.asarray(maps, dtype=float)
    c = maps.shape[2]
    z = mosaic(_normalise_each(maps), ncols or (c if c <= 8 else 8 if c <= 32 else 16))
    height = int(np.clip(z.shape[0] * 5, 100, 560))
    return _image_figure(z, "gray", 0, 1, height, "%{z:.2f}")


def maps_image(maps, width=640):
    """One layer's output (H, W, C) as one grey image for HTML: the maps in a grid (as feature_map_figure), each
    scaled to its own range, upscaled with square pixels to about `width` px; the gaps mid-grey."""
    maps = np.asarray(maps, dtype=float)
    c = maps.shape[2]
    z = mosaic(_normalise_each(maps), c if c <= 8 else 8 if c <= 32 else 16)
    return upscale(np.nan_to_num(z, nan=0.5), max(1, min(8, width // z.shape[1])))


def filter_figure(weights, out=None, ncols=16):
    """3x3 filters (3, 3, C_in, C_out) as tiles with a colour bar (blue negative, white 0, red positive, one
    symmetric scale for the whole layer, so filters can be compared). With one input channel: one tile per
    filter, in rows of `ncols`. Otherwise filter `out` alone: one tile per input channel it reads (its C_in
    slices), in rows of `ncols`: a wall of C_out x C_in tiles says nothing, one filter at a time does."""
    w = np.asarray(weights, dtype=float)
    c_in = w.shape[2]
    tiles = w[:, :, 0, :] if c_in == 1 else w[:, :, :, 0 if out is None else out]     # (3, 3, tiles)
    z = mosaic(tiles, min(ncols, tiles.shape[2]))
    lim = float(np.abs(w).max()) or 1.0
    fig = _image_figure(z, "RdBu_r", -lim, lim, int(np.clip(z.shape[0] * 14, 120, 420)), "weight %{z:.3f}")
    fig.update_layout(coloraxis_showscale=True, coloraxis_colorbar=dict(title="weight", thickness=12, len=1))
    return fig


def training_figure(points, epochs):
    """Live training curves: running loss every few batches, and per-epoch loss and accuracy.
    points: [(epoch as a fraction, running loss)]; epochs: the per-epoch records of cnn.train."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("loss", "accuracy"))
    if points:
        x, y = zip(*points, strict=True)
        fig.add_trace(go.Scatter(x=x, y=y, name="training loss (running)", mode="lines",
                                 line=dict(color=PALETTE[0])), row=1, col=1)
    ep = [r["epoch"] for r in epochs]
    for key, color, row in (("test_loss", PALETTE[1], 1), ("train_acc", PALETTE[0], 2), ("test_acc", PALETTE[1], 2)):
        fig.add_trace(go.Scatter(x=ep, y=[r[key] for r in epochs], name=METRIC_NAMES[key],
                                 mode="lines+markers", line=dict(color=color)), row=row, col=1)
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    fig.update_layout(showlegend=False, hovermode="x unified")
    return _compact(fig, 320)


def curves_figure(per_epoch, metric, show_train=False):
    """Mean over seeds of `metric` per epoch, one line per configuration, with a min-max band.
    per_epoch: a frame from ui.charts.results.per_epoch (columns config, epoch, <metric>_mean/_min/_max)."""
    fig = go.Figure()
    for i, (config, d) in enumerate(per_epoch.groupby("config", sort=False)):
        color = PALETTE[i % len(PALETTE)]
        band = "rgba({},{},{},0.15)".format(*px.colors.hex_to_rgb(color))
        d = d.sort_values("epoch")
        x = d["epoch"].tolist()
        if len(x) > 1:
            fig.add_trace(go.Scatter(x=x + x[::-1], y=d[f"{metric}_max"].tolist() + d[f"{metric}_min"].tolist()[::-1],
                                     fill="toself", fillcolor=band, line=dict(width=0), mode="lines",
                                     legendgroup=config, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=d[f"{metric}_mean"], name=config, legendgroup=config,
                                 mode="lines+markers", line=dict(color=color),
                                 hovertemplate=f"{config}, epoch %{{x}}: %{{y:.4f}}<extra></extra>"))
        train = metric.replace("test", "train")
        if show_train and f"{train}_mean" in d:
            fig.add_trace(go.Scatter(x=x, y=d[f"{train}_mean"], name=f"{config} (training)", legendgroup=config,
                                     mode="lines", line=dict(color=color, dash="dot"), showlegend=False,
                                     hovertemplate=f"{config} training, epoch %{{x}}: %{{y:.4f}}<extra></extra>"))
    fig.update_layout(xaxis_title="epoch", yaxis_title=METRIC_NAMES.get(metric, metric), hovermode="closest",
                      legend=dict(orientation="h", yanchor="top", y=-0.2))
    fig.update_xaxes(dtick=1)
    if metric.endswith("acc"):
        fig.update_yaxes(tickformat=".1%")
    return _compact(fig, 420)


def final_bars_figure(summary):
    """The origin's comparison plot, interactive: final training and test accuracy, and final test loss,
    per configuration (means over seeds, error bars from min to max).
    summary: a frame from ui.charts.results.summary."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("final accuracy", "final test loss"))
    for key, color in (("train_acc", PALETTE[0]), ("test_acc", PALETTE[1])):
        fig.add_trace(_bar(summary, key, color), row=1, col=1)
    fig.add_trace(_bar(summary, "test_loss", PALETTE[3]), row=1, col=2)
    low = float(np.nanmin(summary[["train_acc_min", "test_acc_min"]].to_numpy(dtype=float)))
    low = max(0.0, np.floor((low - 0.03) * 20) / 20)      # zoom in on high accuracies, in steps of 5%
    fig.update_yaxes(tickformat=".0%", range=[low, 1], row=1, col=1)
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.25))
    return _compact(fig, 400)


def _bar(summary, key, color):
    mean = summary[f"{key}_mean"]
    return go.Bar(x=summary["config"], y=mean, name=METRIC_NAMES[key], marker_color=color,
                  error_y=dict(type="data", symmetric=False, array=summary[f"{key}_max"] - mean,
                               arrayminus=mean - summary[f"{key}_min"]),
                  hovertemplate="%{x}: %{y:.4f}<extra>" + METRIC_NAMES[key] + "</extra>")


def upscale(image, factor=4):
    """A small image (H, W) in [0, 1] -> uint8 image `factor` times larger with crisp square pixels."""
    img = np.clip(np.asarray(image, dtype=float), 0, 1)
    return (np.kron(img, np.ones((factor, factor))) * 255).astype(np.uint8)


def steps_strip(steps, height=84, gap=10):
    """The preprocessing steps side by side in one RGBA image (one picture on the page, not three):
    the crop of the canvas, the crop scaled to 20 px, and the centred 28x28 input, each `height` px high
    with crisp pixels, separated by transparent gaps."""
    panels = []
    for image in (steps["cropped"], steps["scaled"], steps["centred"]):
        img = np.clip(np.asarray(image, dtype=float), 0, 1)
        h, w = img.shape
        width = max(1, round(w * height / h))
        gray = (img[np.arange(height) * h // height][:, np.arange(width) * w // width] * 255).astype(np.uint8)
        panels += [np.dstack([gray, gray, gray, np.full_like(gray, 255)]), np.zeros((height, gap, 4), np.uint8)]
    return np.concatenate(panels[:-1], axis=1)                          # no gap after the last panel
