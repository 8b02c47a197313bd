"""``python -m chatkit`` runs the command-line interface."""

from chatkit.cli import main

main()
