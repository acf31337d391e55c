"""The bottom layer: user-error types, the versioned ``.npz`` artifact files, and the two data contracts.

``Trajectory`` (a training run's parameters) and ``Landscape`` (a loss grid
over a plane, with the path on it) are plain data with ``save`` and ``load``;
every layer above reads them, and this layer imports none of them.
"""
