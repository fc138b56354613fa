"""`python -m bot.cli`: the `graybot` command."""
import sys

from . import main

sys.exit(main())
