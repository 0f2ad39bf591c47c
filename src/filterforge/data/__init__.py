"""Oracle-scored data: labels read from oracle rows, the splits `prepare` writes, synthetic demo articles."""
