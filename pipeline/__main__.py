"""``python -m pipeline`` is ``embpipe``."""

from pipeline.cli import main

main()
