"""Learning from outcomes: point-in-time training data, and the checks it needs before any model is fitted."""
