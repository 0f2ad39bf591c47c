"""Filter packages (`filters/<name>/v<N>/`): dimensions, weights, tiers, and the declarative condition language."""
