"""``python -m millionscale``: the ``millionscale`` command (:func:`millionscale.cli.main`)."""

from millionscale.cli import main

if __name__ == "__main__":
    main()
