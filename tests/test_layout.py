"""The layout shows the architecture: the engine (cnn/engine/) imports nothing else from cnn/ and works copied out
alone, worker processes included; no import cycle anywhere in cnn/; ui/core has no Streamlit, ui/charts neither."""
import ast
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path):
    """The modules a file imports, as absolute dotted names (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1] if path.name != "__init__.py"
                       else path.relative_to(ROOT).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)     # `from pkg import module`
    return found


def modules(top):
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in (ROOT / top).rglob("*.py")}


def test_the_engine_imports_nothing_else_from_cnn():
    for name, path in modules("cnn/engine").items():
        outside = {m for m in imports(path) if m.startswith("cnn.") and not m.startswith("cnn.engine")}
        assert not outside, f"{name} imports {outside}"


def test_no_import_cycle_in_cnn():
    in_cnn = modules("cnn")
    graph = {name: {m for m in imports(path) if m in in_cnn and m != name} for name, path in in_cnn.items()}
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}  # a parent
    state = {}                                       # package's __init__ runs first: not a cycle

    def visit(name, path):
        state[name] = "open"
        for dep in graph[name]:
            assert state.get(dep) != "open", " -> ".join([*path, name, dep])
            if dep not in state:
                visit(dep, [*path, name])
        state[name] = "done"
    for name in graph:
        if name not in state:
            visit(name, [])


def test_the_apps_plain_modules_import_no_streamlit():
    for top in ("ui/core", "ui/charts", "cnn"):
        for name, path in modules(top).items():
            assert not {m for m in imports(path) if m.split(".")[0] == "streamlit"}, name


def test_the_engine_works_copied_out_alone(tmp_path):
    shutil.copytree(ROOT / "cnn" / "engine", tmp_path / "engine")
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import engine
        from engine import parallel, training
        assert not [m for m in sys.modules if m == "cnn" or m.startswith("cnn.")]
        started = []
        class Counted(parallel.Workers):                  # a worker process imports `engine` by that name
            def __init__(self, *args):
                super().__init__(*args)                   # raises if a worker cannot import the engine
                started.append(args[1])
        training.Workers = Counted
        rng = np.random.default_rng(0)
        n = training.MIN_PARALLEL_IMAGES
        x, y = rng.random((n, 28, 28)).astype(np.float32), rng.integers(0, 10, n)
        model = engine.build_model("c4p", seed=0)
        history = engine.train(model, x, y, x[:64], y[:64], engine.TrainConfig(epochs=1, n_train=n, batch_size=64))
        print(len(history), model.predict_proba(x[:3]).shape, parallel.CORES, sum(started))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr
    n_history, *shape, cores, workers = out.stdout.split()
    assert n_history == "1" and shape == ["(3,", "10)"]
    assert int(workers) == int(cores) - 1                   # one worker process per extra core trained with it
