"""millionscale: the scale-from-zero-to-millions architecture as runnable software."""
