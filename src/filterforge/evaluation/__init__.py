"""Judging students: metrics, evaluate, calibrate, compare (runs, decision rules, report), edge cases, plots."""
