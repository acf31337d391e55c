"""lossfilm: films of a training run rolling down its own loss landscape.

The command-line glue and the two things every stage shares: the error
types a user can cause, and the artifact files that carry data between
stages (``training -> trajectory.npz -> landscape.npz -> frames -> video``).
"""

__version__ = "0.1.0"
