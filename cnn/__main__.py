"""python -m cnn <command>: see cnn/cli.py."""
from .cli import main

main()
