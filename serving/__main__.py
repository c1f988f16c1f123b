"""`python -m serving ...` (see `serving.cli`)."""

import os
import sys

from serving.cli import main

try:
    code = main(exiting=True)
    sys.stdout.flush()
except BrokenPipeError:
    # The reader went away (`python -m serving schema | head`): stop quietly, as `pulumi` and coreutils do.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
sys.exit(code)
