"""Where the commands print: :data:`console` (stdout) for what a command answers,
:data:`err_console` (stderr) for progress, notes and errors, so that a pipe's
stdout holds answers only. Off a terminal both write whole lines, never cropped.
"""

import sys

from rich.console import Console

console = Console(soft_wrap=not sys.stdout.isatty())  # a pipe gets whole lines, never cropped
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
