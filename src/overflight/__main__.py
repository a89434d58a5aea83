"""``python -m overflight`` runs the command line."""

from overflight.cli import main

main()
