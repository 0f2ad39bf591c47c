"""Baselines a user would pick instead of a student: the mean predictor, TF-IDF + ridge and a frozen
embedding probe, fitted on the train split with hyper-parameters chosen on validation, saved as run
folders that every later command opens like a student's."""
