"""Run folders: what `train` writes and every later command opens (see :class:`filterforge.runs.run.Run`)."""
