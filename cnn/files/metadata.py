"""What a weights file's metadata may hold: each key, its type and its range.

A key this version does not know is dropped (so it is never saved again); a known key with a value of the
wrong type or out of range makes the file unusable: check() raises ValueError naming the key and the rule.
"""
from cnn.engine.spec import ACTIVATIONS, DTYPES
from cnn.engine.training import LIMITS, OPTIMIZERS

FORMAT_VERSION = 1
MAX_RECORDS = 10_000                 # history entries (epochs and fine-tunes)
MAX_TEXT = 100                       # characters in a string value


def _number(lo, hi):
    def rule(v):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi   # False for NaN and inf
        return v if ok else _fail(f"a number from {lo:g} to {hi:g}", v)
    return rule


def _integer(lo, hi):
    def rule(v):
        return v if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi \
            else _fail(f"a whole number from {lo:,} to {hi:,}", v)
    return rule


def _limit(limit):
    """A rule for a training setting: the engine's own limit (cnn.engine.training.LIMITS)."""
    return lambda v: v if limit.holds(v) else _fail(str(limit), v)


def _choice(*options):
    return lambda v: v if isinstance(v, str) and v in options else _fail(f"one of {options}", v)


def _flag(v):
    return v if isinstance(v, bool) else _fail("true or false", v)


def _text(v):
    return v if isinstance(v, str) and len(v) <= MAX_TEXT else _fail(f"text of at most {MAX_TEXT} characters", v)


def _fields(schema):
    """A rule for an object: known keys checked by their rules, unknown keys dropped."""
    def rule(v):
        if not isinstance(v, dict):
            _fail("an object", v)
        out = {}
        for key, check in schema.items():
            if key in v:
                out[key] = _at(key, check, v[key])
        return out
    return rule


def _items(check, most):
    def rule(v):
        if not isinstance(v, list) or len(v) > most:
            _fail(f"a list of at most {most:,} entries", v)
        return [_at(f"[{i}]", check, item) for i, item in enumerate(v)]
    return rule


class _Bad(ValueError):
    def __init__(self, path, what):
        super().__init__(path, what)
        self.path, self.what = path, what


def _fail(expected, value):
    shown = repr(value) if isinstance(value, (int, float, bool)) or value is None else type(value).__name__
    if isinstance(value, str):
        shown = repr(value[:20] + ("…" if len(value) > 20 else ""))
    raise _Bad("", f"must be {expected}, not {shown}")


def _at(key, check, value):
    try:
        return check(value)
    except _Bad as e:
        sep = "" if not e.path or e.path.startswith("[") else "."
        raise _Bad(f"{key}{sep}{e.path}", e.what) from None


RECORD = {"epoch": _integer(1, 10**6), "kind": _choice("finetune"), "steps": _integer(0, 10**6),
          "n_drawings": _integer(0, 10**6), "train_loss": _number(0, 1e9), "train_acc": _number(0, 1),
          "test_loss": _number(0, 1e9), "test_acc": _number(0, 1), "test_images": _integer(1, 10**6),
          "seconds": _number(0, 1e9), "complete": _flag}
SETTINGS = {**{name: _limit(limit) for name, limit in LIMITS.items()}, "optimizer": _choice(*OPTIMIZERS),
            "augment": _flag}
FINETUNED = {"steps": _integer(1, 10**6), "drawings": _integer(0, 10**6), "lr": _number(0, 10),
             "seed": _limit(LIMITS["seed"])}
CALIBRATION = {"temperature": _number(0.01, 100), "fitted_on": _integer(0, 10**6), "ece_before": _number(0, 1),
               "ece_after": _number(0, 1)}
OUTLIER = {"threshold": _number(-1000, 1000), "digits_validated": _integer(1, 10**7)}   # cnn/teach/notdigit.py
SCHEMA = {"format_version": _integer(0, 10**6), "arch": _text, "activation": _choice(*ACTIVATIONS),
          "input_offset": _number(-1, 1), "dtype": _choice(*DTYPES), "seed": _limit(LIMITS["seed"]),
          "history": _items(_fields(RECORD), MAX_RECORDS), "settings": _fields(SETTINGS),
          "finetuned": _fields(FINETUNED), "calibration": _fields(CALIBRATION),
          "outlier": _fields(OUTLIER)}
REQUIRED = ("format_version", "arch", "activation")


def check(meta):
    """The metadata with only known keys, every value checked; ValueError says which key breaks which rule."""
    try:
        clean = _fields(SCHEMA)(meta)
    except _Bad as e:
        raise ValueError(f"metadata {e.path or 'object'} {e.what}" if e.path else f"metadata {e.what}") from None
    missing = [k for k in REQUIRED if k not in clean]
    if missing:
        raise ValueError(f"metadata lacks {', '.join(missing)}")
    if clean["format_version"] != FORMAT_VERSION:
        raise ValueError(f"format version {clean['format_version']}; this version reads version {FORMAT_VERSION}")
    return clean
