"""evkb benchmark: synthetic manuals (generate), measurements (run, worker), report."""
