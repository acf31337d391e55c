"""The landscape: paths, the plane through them, what is evaluated, the loss grid, the 1-D segment, races and 2-D functions."""
