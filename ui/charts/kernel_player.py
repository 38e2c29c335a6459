"""The kernel sliding: one convolution's 3x3 window moving over one input channel, filling the output map value by
value, with the 9 products and the sums at the current position. A pure function returning HTML with a small
script (for st.html(..., unsafe_allow_javascript=True)): playing runs in the browser, with no rerun per step."""
import json
import re
from html import escape

import numpy as np

from ui.charts.network_view import COLOURS

CELL = 8          # CSS px per map pixel

SCRIPT = """
(() => {
  const root = document.getElementById(ID), D = JSON.parse(root.querySelector('.kp-data').textContent);
  const [H, W] = [D.out.length, D.out[0].length], N = H * W;
  const pos = root.querySelector('.kp-pos'), play = root.querySelector('.kp-play');
  const cin = root.querySelector('.kp-in').getContext('2d'), cout = root.querySelector('.kp-out').getContext('2d');
  const colour = (v, lo, hi) => D.colours[Math.round((hi > lo ? (v - lo) / (hi - lo) : 0) * (D.colours.length - 1))];
  const range = m => [Math.min(...m.flat()), Math.max(...m.flat())];
  const [ilo, ihi] = range(D.input), [olo, ohi] = range(D.out);
  const f = v => v.toFixed(4);
  let timer = null;
  function draw(p) {
    const r = Math.floor(p / W), c = p % W;
    D.input.forEach((row, i) => row.forEach((v, j) => { cin.fillStyle = colour(v, ilo, ihi);
      cin.fillRect(j * CELL, i * CELL, CELL, CELL); }));
    cin.strokeStyle = '#ff4b4b'; cin.lineWidth = 2; cin.strokeRect(c * CELL, r * CELL, 3 * CELL, 3 * CELL);
    cout.clearRect(0, 0, W * CELL, H * CELL);
    for (let q = 0; q <= p; q++) { const i = Math.floor(q / W), j = q % W;
      cout.fillStyle = colour(D.out[i][j], olo, ohi); cout.fillRect(j * CELL, i * CELL, CELL, CELL); }
    cout.strokeStyle = '#ff4b4b'; cout.strokeRect(c * CELL, r * CELL, CELL, CELL);
    let part = 0, cells = '';
    for (let a = 0; a < 3; a++) { cells += '<tr>';
      for (let b = 0; b < 3; b++) { const x = D.input[r + a][c + b], w = D.kernel[a][b]; part += x * w;
        cells += `<td>${f(x)}&times;${f(w)}<br><b>${f(x * w)}</b></td>`; }
      cells += '</tr>'; }
    root.querySelector('.kp-products').innerHTML = cells;
    const z = D.z[r][c], y = D.out[r][c];
    const others = D.channels > 1 ? ` The other ${D.channels - 1} input channels add ${f(D.sum[r][c] - part)}: ` +
      `all ${9 * D.channels} products sum to ${f(D.sum[r][c])}.` : '';
    const text = `Row ${r}, column ${c}: the 9 products of input channel ${D.channel} sum to ` +
      `<span class="kp-part">${f(part)}</span>.${others} Plus the bias ${f(D.bias)}: z = ${f(z)}` +
      (D.relu ? `, ReLU: max(z, 0) = ` : `, no activation: `) + `<b class="kp-value">${f(y)}</b>, the map's value.`;
    root.querySelector('.kp-sum').innerHTML = text;
    root.dataset.position = p; pos.value = p;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = 'Play'; }
  play.onclick = () => {
    if (timer) return stop();
    if (Number(pos.value) >= N - 1) pos.value = 0;
    play.textContent = 'Pause';
    timer = setInterval(() => { const p = Number(pos.value) + 1; if (p >= N) return stop(); draw(p); }, D.ms);
  };
  pos.oninput = () => { stop(); draw(Number(pos.value)); };
  draw(0);
})();
"""


def _rounded(a):
    return np.round(np.asarray(a, np.float64), 6).tolist()


def player_html(name, source, kernel, z, out, channel, bias, relu, n_channels, player_id, ms=25):
    """source (H, W) the input channel shown, kernel (3, 3) its weights, z and out (H-2, W-2) the engine's
    pre-activation and output (ReLU or not) for the chosen filter; the per-position sum of all input channels'
    products is z - bias. `player_id` makes the element's id unique on the page."""
    h, w = np.shape(source)
    data = {"input": _rounded(source), "kernel": _rounded(kernel), "z": _rounded(z), "out": _rounded(out),
            "sum": _rounded(np.asarray(z, np.float64) - bias), "bias": float(bias), "relu": bool(relu),
            "channel": int(channel), "channels": int(n_channels), "colours": COLOURS, "ms": ms}
    oh, ow = np.shape(out)
    script = SCRIPT.replace("ID", json.dumps(player_id)).replace("CELL", str(CELL))
    script = re.sub(r"<(?=[/\w])", r"\\x3c", script)     # the page's sanitiser drops a script holding "<tag"
    return (f'<div id="{escape(player_id)}" class="kernel-player" data-position="0" style="font-size:0.85rem">'
            f'<script type="application/json" class="kp-data">{json.dumps(data)}</script>'
            f'<div style="display:flex;gap:0.5rem;align-items:center;flex-wrap:wrap">'
            f'<button class="kp-play" type="button" style="min-width:4rem;padding:0.3rem 0.8rem">Play</button>'
            f'<input class="kp-pos" type="range" min="0" max="{oh * ow - 1}" value="0" style="flex:1;min-width:8rem"'
            f' aria-label="window position, row by row"></div>'
            f'<div style="display:flex;gap:1rem;flex-wrap:wrap;margin-top:0.5rem;align-items:flex-start">'
            f'<figure style="margin:0"><canvas class="kp-in" width="{w * CELL}" height="{h * CELL}" role="img" '
            f'aria-label="{escape(name)} input channel {channel}, the 3x3 window outlined" '
            f'style="max-width:100%"></canvas><figcaption>input channel {channel}</figcaption></figure>'
            f'<figure style="margin:0"><canvas class="kp-out" width="{ow * CELL}" height="{oh * CELL}" role="img" '
            f'aria-label="{escape(name)} output map, filled up to the window\'s position" style="max-width:100%">'
            f'</canvas><figcaption>output map, filled so far</figcaption></figure>'
            f'<table class="kp-products" aria-label="input times weight, and the product, at each of the 9 '
            f'places" style="font-size:0.7rem;text-align:center"></table></div>'
            f'<p class="kp-sum" aria-live="polite" style="margin-top:0.5rem"></p>'
            f'<script>{script}</script></div>')
