"""Using a trained student: bulk scoring, latency benchmarks, deployment into a filter package with a model card."""
