"""Every command works as a user types it: each `python -m cnn.<module>` runs its command or says which to run,
and every command that the app, the README or docs/ print runs (its --help, with every option it names)."""
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cnn
from cnn.cli import TOOLS

ROOT = Path(__file__).resolve().parents[1]
PRINTED_IN = ["README.md", "docs/*.md", "app.py", "app_pages/*.py", "ui/**/*.py", "cnn/**/*.py", "benchmarks/*.py"]
COMMAND = re.compile(r"python -m cnn( [a-z]+)?((?: --?[a-z][a-z-]*(?: [^\s`'\"|;)#]+)?)*)")
SCRIPT = re.compile(r"python (benchmarks/[a-z_]+\.py)")


def run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def modules():
    return sorted(m.name for m in pkgutil.walk_packages(cnn.__path__, "cnn.") if m.name != "cnn.__main__")


def printed(pattern):
    found = set()
    for glob in PRINTED_IN:
        for path in ROOT.glob(glob):
            found.update(m.group(0) for m in pattern.finditer(path.read_text()))
    return sorted(found)


@pytest.mark.parametrize("name", modules())
def test_every_module_runs_its_command_or_says_which_to_run(name):
    out = run("-m", name, "--help")
    tools = {module: command for command, (module, _) in TOOLS.items()}
    if name in tools:
        assert out.returncode == 0 and f"usage: python -m cnn {tools[name]}" in out.stdout
    elif name == "cnn.cli":
        assert out.returncode == 0 and "usage: python -m cnn <command>" in out.stderr
    else:
        assert out.returncode == 1 and "python -m cnn --help" in out.stderr, (name, out)


def test_the_docs_and_the_app_print_commands():
    assert len(printed(COMMAND)) >= 10 and len(printed(SCRIPT)) >= 4      # the patterns below find something


@pytest.mark.parametrize("command", printed(COMMAND))
def test_every_printed_command_runs(command):
    words = command.split()
    sub = words[3] if len(words) > 3 and not words[3].startswith("-") else None
    out = run("-m", "cnn", *([sub] if sub else []), "--help")
    assert out.returncode == 0, (command, out.stderr)
    usage = out.stdout + out.stderr
    for option in (w for w in words[4:] if w.startswith("--")):
        assert option in usage, f"{command!r}: {option} is not an option of python -m cnn {sub}"


@pytest.mark.parametrize("script", printed(SCRIPT))
def test_every_printed_benchmark_script_exists_and_runs(script):
    out = run(script.split()[1], "--help")
    assert out.returncode == 0 and "usage:" in out.stdout, (script, out.stderr)
