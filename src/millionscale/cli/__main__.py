"""``python -m millionscale.cli``: the ``millionscale`` command, as the console script runs it."""

from millionscale.cli import main

if __name__ == "__main__":
    main()
