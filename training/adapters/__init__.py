"""Adapters for the user's own model: a loss function named on the command line, and PyTorch modules."""
