"""The receptive field of one unit: the region of every earlier layer, and of the input, that it reads.

Worked out from the layers alone, as the grammar builds them: a 3x3 valid convolution's unit (r, c) reads rows
r..r+2 and columns c..c+2 of every input channel; a 2x2 pooling unit (r, c) reads rows 2r..2r+1 and columns
2c..2c+1 of its own channel; a dense unit reads everything before it. Walking back from the unit through
`stages` (cnn.teach.trace) gives one box per earlier stage. tests/test_live_view.py checks it against brute
force: perturb each input pixel, see which units change.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    rows: tuple          # (first, last + 1)
    cols: tuple          # (first, last + 1)
    channels: tuple      # the channels read, or () for all of them


def field(found, s, unit, row=0, col=0):
    """{stage index: Box} for stage s's value at (row, col, unit) and every stage it reads from, back to the
    input (stage 0). `found` is cnn.teach.trace.stages(model, image); only kinds, sources and shapes are used."""
    box = Box((row, row + 1), (col, col + 1), (unit,))
    boxes = {s: box}
    while found[s].source >= 0:
        kind, s = found[s].kind, found[s].source
        h, w, _ = found[s].values.shape
        (r0, r1), (c0, c1) = box.rows, box.cols
        if kind == "conv":                                             # 3x3, valid: two more rows and columns
            box = Box((r0, r1 + 2), (c0, c1 + 2), ())
        elif kind == "pool":                                           # 2x2, stride 2, the same channels
            box = Box((2 * r0, 2 * r1), (2 * c0, 2 * c1), box.channels)
        else:                                                          # dense: all of it
            box = Box((0, h), (0, w), ())
        boxes[s] = box
    return boxes


def describe(found, boxes):
    """One sentence per earlier stage: "c8: rows 3-5, columns 7-9, all 8 channels"."""
    lines = []
    for s in sorted(boxes):
        stage, box = found[s], boxes[s]
        h, w, c = stage.values.shape
        if stage.kind in ("dense", "output"):
            what = f"unit {box.channels[0]}" if box.channels else f"all {c} units"
        else:
            what = (f"rows {box.rows[0]}-{box.rows[1] - 1}, columns {box.cols[0]}-{box.cols[1] - 1}, "
                    + (f"channel {box.channels[0]}" if box.channels else
                       "the one channel" if c == 1 else f"all {c} channels"))
        lines.append(f"{stage.label.split(':')[0]}: {what}")
    return lines
