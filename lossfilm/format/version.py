"""The lossfilm version, and each cached stage's code version, in the bottom layer.

Every artifact records which lossfilm made it. ``CODE_VERSIONS`` goes into
each stage's content key: raise a stage's number when a change of algorithm
changes what it makes, and every cache made by the old code is recomputed
instead of silently reused.

- ``trajectory`` 1: training as in lossfilm 0.1.
- ``landscape`` 2: the PCA plane is centred (Li et al. 2018) by default.
"""

__version__ = "0.2.0"

CODE_VERSIONS = {"trajectory": 1, "landscape": 2}
