"""Ensembles and dimension-specific models: members (students of any strategy, baselines) combined per
dimension by weights fitted on a held-out split, written as a run folder every command opens."""
