"""Training: the loop, optimiser and schedule, checkpoints, distributed set-up, logging."""
