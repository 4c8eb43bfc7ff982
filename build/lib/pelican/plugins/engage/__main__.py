"""`python -m pelican.plugins.engage` runs the `engage` command line."""

from .cli import main

main()
