"""Practice mode: simulated members, and practice batches for training activists."""
