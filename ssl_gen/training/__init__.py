"""One run: its configuration, flags and presets, the training loop, distribution and restoring a run."""
