"""The whole network as one picture, left to right: the input, every layer's maps, the dense layers and the ten
outputs, with a colour legend, and a unit's receptive field outlined in every stage it reads. Pure functions:
`found` (cnn.teach.trace.stages) in, one HTML string out (for st.html). Each layer is one small palette PNG
(a data: URI), drawn at a size that keeps a wide layer readable; outlines are HTML boxes over the image, so a
new pick or a new stroke sends a few KB, not a chart's JSON."""
import base64
import io
from html import escape

import numpy as np
from PIL import Image

# Viridis (Plotly's sequential.Viridis): dark purple for the lowest value, yellow for the highest.
ANCHORS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b",
           "#fde725"]
LEVELS = 255                  # palette entries 0..254 for values; 255 is the transparent gap between maps
HEIGHT = 190                  # CSS px a layer's column aims for
MIN_CELL, MAX_CELL = 12, 70   # CSS px of one map's side: never smaller (a wide layer grows taller and scrolls)
OPS = {"conv": "3x3 conv", "pool": "2x2 max pool", "dense": "dense", "output": "dense, softmax"}
OUTLINE = "#ff4b4b"


def _palette():
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in ANCHORS], float)     # (10, 3)
    t = np.linspace(0, 1, LEVELS)
    lut = np.stack([np.interp(t, np.linspace(0, 1, len(rgb)), rgb[:, k]) for k in range(3)], 1)
    return np.vstack([lut, [[0, 0, 0]]]).round().astype(np.uint8)                         # (256, 3)


PALETTE = _palette()
COLOURS = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in PALETTE[:LEVELS:LEVELS // 8]]


def scaled(values, per_map):
    """(H, W, C) values -> [0, 1]: each map on its own range (per_map) or the whole layer on one range."""
    axes = (0, 1) if per_map else (0, 1, 2)
    lo = values.min(axis=axes, keepdims=True)
    span = values.max(axis=axes, keepdims=True) - lo
    return (values - lo) / np.where(span > 0, span, 1)


def grid_columns(c):
    """How many maps side by side for a layer of c maps: a column about twice as tall as it is wide."""
    return int(np.ceil(c / np.ceil(np.sqrt(2 * c))))


def levels(values, per_map, ncols):
    """(H, W, C) values -> (rows, cols) palette indices, the maps in a grid of ncols with a one-pixel gap."""
    h, w, c = values.shape
    nrows = -(-c // ncols)
    out = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), LEVELS, np.uint8)
    idx = np.rint(scaled(values.astype(np.float64), per_map) * (LEVELS - 1)).astype(np.uint8)
    for i in range(c):
        r, q = divmod(i, ncols)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = idx[:, :, i]
    return out


def png_uri(indices):
    img = Image.fromarray(indices, "P")
    img.putpalette(PALETTE.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=LEVELS)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _outline(left, top, width, height, total_w, total_h, strong):
    pct = [100 * left / total_w, 100 * top / total_h, 100 * width / total_w, 100 * height / total_h]
    return (f'<div class="rf" style="position:absolute;left:{pct[0]:.3f}%;top:{pct[1]:.3f}%;width:{pct[2]:.3f}%;'
            f'height:{pct[3]:.3f}%;outline:{3 if strong else 2}px solid {OUTLINE};'
            f'box-shadow:0 0 0 {4 if strong else 3}px rgba(255,255,255,0.7);'
            f'background:rgba(255,75,75,{0.45 if strong else 0.15})"></div>')


def _boxes_html(shape, ncols, box, picked):
    """Outlines of a receptive-field Box (cnn.teach.receptive) in each map it covers, over a layer's grid."""
    h, w, c = shape
    nrows = -(-c // ncols)
    total_w, total_h = ncols * (w + 1) - 1, nrows * (h + 1) - 1
    out = []
    for i in box.channels or range(c):
        r, q = divmod(i, ncols)
        out.append(_outline(q * (w + 1) + box.cols[0], r * (h + 1) + box.rows[0], box.cols[1] - box.cols[0],
                            box.rows[1] - box.rows[0], total_w, total_h, picked))
    return "".join(out)


def _maps_figure(i, stage, per_map, box, picked):
    """One stage's column: its grid of maps as one image, with outlines, caption and legend."""
    values = stage.values
    h, w, c = values.shape
    flat = stage.kind == "dense"
    if flat:                                                           # (1, 1, n) -> a grid of n single cells
        ncols = max(1, -(-c // 64))
        values = np.pad(values.reshape(-1), (0, -c % ncols), constant_values=np.nan)
        values = values.reshape(-1, ncols)[:, :, None]
        values = np.nan_to_num(values, nan=float(np.nanmin(values)))
        h, w, c, ncols = values.shape[0], values.shape[1], 1, 1
        per_map = False
    else:
        ncols = grid_columns(c)
    nrows = -(-c // ncols)
    cell = float(np.clip(HEIGHT / (nrows * h + nrows - 1) * h, MIN_CELL if not flat else 0, MAX_CELL))
    scale = cell / h if not flat else max(3.0, min(16.0, HEIGHT / h))
    grid = levels(values, per_map, ncols)
    width, height = grid.shape[1] * scale, grid.shape[0] * scale
    outlines = ""
    if box is not None:
        if flat:
            sel = box.channels
            cols_n = w
            outlines = "".join(_outline(u % cols_n, u // cols_n, 1, 1, w, h, picked) for u in sel) if sel else \
                _outline(0, 0, w, h, w, h, picked)
        else:
            outlines = _boxes_html(values.shape, ncols, box, picked)
    lo, hi = float(stage.values.min()), float(stage.values.max())
    best = int(np.argmax(stage.values.reshape(-1, stage.values.shape[2]).max(axis=0)))
    kind = "unit" if flat else "map"
    alt = (f"{stage.label}: {stage.values.shape[2]} {kind}s" + ("" if flat else f" of {h}x{w}")
           + f", values {lo:.2f} to {hi:.2f}; the strongest {kind} is {best}")
    caption = f"{lo:.2f} to {hi:.2f}, strongest {kind} {best}"
    legend = (f'<div style="height:6px;width:100%;background:linear-gradient(to right,{",".join(COLOURS)})">'
              '</div><div style="display:flex;justify-content:space-between;font-size:0.7rem;opacity:0.75">'
              + (f"<span>{lo:.2f}</span><span>{hi:.2f}</span>" if not per_map else
                 "<span>map's min</span><span>max</span>") + "</div>")
    return (f'<figure class="lv-stage" data-stage="{i}" data-min="{lo:.6g}" data-max="{hi:.6g}" '
            f'style="margin:0;flex:none;width:{max(width, 64):.0f}px">'
            f'<div style="font-size:0.75rem;font-weight:600;white-space:nowrap">{escape(stage.label)}</div>'
            f'<div style="position:relative;width:{width:.1f}px;height:{height:.1f}px">'
            f'<img src="{png_uri(grid)}" alt="{escape(alt)}" style="width:100%;height:100%;display:block;'
            f'image-rendering:pixelated">{outlines}</div>{legend}'
            f'<figcaption style="font-size:0.7rem;opacity:0.75">{escape(caption)}</figcaption>'
            f'</figure>')


def _outputs_figure(i, stage, probs, box):
    """The ten outputs: each digit's logit as a colour on the layer's range, and its probability as a bar."""
    logits = stage.values.reshape(-1)
    lo, hi = float(logits.min()), float(logits.max())
    idx = np.rint(scaled(logits[None, None, :].astype(np.float64), False).reshape(-1) * (LEVELS - 1)).astype(int)
    best = int(np.argmax(probs))
    rows = []
    for d in range(len(logits)):
        r, g, b = PALETTE[idx[d]]
        mark = box is not None and d in box.channels
        rows.append(f'<div data-digit="{d}" data-logit="{logits[d]:.6g}" data-p="{probs[d]:.6f}" '
                    f'style="display:flex;align-items:center;gap:4px;font-size:0.75rem;'
                    f'{"outline:2px solid " + OUTLINE if mark else ""}">'
                    f'<b style="width:0.8rem;font-weight:{700 if d == best else 400}">{d}</b>'
                    f'<span style="width:14px;height:14px;background:rgb({r},{g},{b})"></span>'
                    f'<span style="width:{44 * probs[d]:.1f}px;height:8px;background:#8da0cb"></span>'
                    f'<span style="opacity:0.8">{probs[d]:.0%}</span></div>')
    alt = (f"the ten outputs: logits {lo:.2f} to {hi:.2f}; the network reads {best} "
           f"with probability {probs[best]:.1%}")
    return (f'<figure class="lv-stage" data-stage="{i}" role="img" aria-label="{escape(alt)}" '
            f'style="margin:0;flex:none;width:104px">'
            f'<div style="font-size:0.75rem;font-weight:600">output: logit, probability</div>{"".join(rows)}'
            f'<figcaption style="font-size:0.7rem;opacity:0.75">logits {lo:.2f} to {hi:.2f}</figcaption></figure>')


def _arrow(stage):
    op = OPS[stage.kind] + (" + ReLU" if stage.relu and stage.kind in ("conv", "dense") else "")
    return (f'<div aria-hidden="true" style="flex:none;align-self:center;text-align:center;'
            f'opacity:0.75;width:40px;font-size:0.65rem;line-height:1.2">&rarr;<br>{escape(op)}</div>')


def network_html(found, probs, per_map=True, boxes=None, picked=None, key=""):
    """The whole network for one image as one HTML block. `probs` the ten probabilities shown; `boxes`
    {stage index: Box} a unit's receptive field (cnn.teach.receptive.field), `picked` the stage it lies in;
    `key` marks the picture (data-key) so a page can tell a new one from the last."""
    boxes = boxes or {}
    parts = []
    for i, stage in enumerate(found):
        if i:
            parts.append(_arrow(stage))
        if stage.kind == "output":
            parts.append(_outputs_figure(i, stage, np.asarray(probs, float).ravel(), boxes.get(i)))
        else:
            parts.append(_maps_figure(i, stage, per_map and stage.kind != "input", boxes.get(i), i == picked))
    chain = " → ".join(s.label for s in found)
    return (f'<div class="live-view" data-key="{escape(key)}" role="group" tabindex="0" aria-label="the whole network: '
            f'{escape(chain)}" style="display:flex;gap:6px;align-items:flex-start;overflow:auto;max-height:70vh;'
            f'padding-bottom:4px;contain:content">{"".join(parts)}</div>')
