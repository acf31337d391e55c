"""Data sets: the digits and MNIST, read from IDX files or downloaded once, as arrays."""
