"""Training: the from-scratch MLP, its optimizers and settings, the trainer, and the Recorder that streams snapshots."""
