"""The parameter layout: how a dict of named arrays maps to one flat vector.

Examples
--------
>>> import numpy as np
>>> layout = ParamLayout.of({"W1": np.zeros((3, 2)), "b1": np.zeros((1, 3))})
>>> layout.size, layout.offsets
(9, (0, 6, 9))
>>> params = layout.unflatten(np.arange(9.0))
>>> params["b1"].tolist()
[[6.0, 7.0, 8.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import DataError


@dataclass(frozen=True)
class ParamLayout:
    """Names and shapes of the parameters, in flattening order."""

    names: tuple
    shapes: tuple

    @classmethod
    def of(cls, params):
        """The layout of one parameter dict, in its key order."""
        if not params:
            raise DataError("a parameter snapshot is empty (no named arrays)")
        return cls(tuple(params), tuple(tuple(np.shape(v)) for v in params.values()))

    @classmethod
    def from_json(cls, data):
        return cls(tuple(data["names"]), tuple(tuple(s) for s in data["shapes"]))

    def to_json(self):
        return {"names": list(self.names), "shapes": [list(s) for s in self.shapes]}

    @property
    def sizes(self):
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @property
    def offsets(self):
        """Start of each array in the flat vector, plus the total at the end."""
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(self.sizes)]))

    @property
    def size(self):
        return self.offsets[-1]

    def check(self, params, where="snapshot"):
        """Raise DataError naming the first key or shape that does not match."""
        missing = [n for n in self.names if n not in params]
        extra = [n for n in params if n not in self.names]
        if missing or extra:
            raise DataError(f"{where}: keys differ from the first snapshot "
                            f"(missing {missing}, unexpected {extra})")
        for name, shape in zip(self.names, self.shapes):
            if tuple(np.shape(params[name])) != shape:
                raise DataError(f"{where}: {name} has shape {np.shape(params[name])}, expected {shape}")

    def flatten(self, params, dtype=np.float32):
        """One vector of all arrays in layout order."""
        return np.concatenate([np.asarray(params[n], dtype=dtype).ravel() for n in self.names])

    def unflatten(self, vector):
        """A dict of arrays (views into ``vector`` where possible)."""
        vector = np.asarray(vector)
        if vector.shape != (self.size,):
            raise DataError(f"parameter vector has shape {vector.shape}, expected ({self.size},)")
        o = self.offsets
        return {n: vector[o[i]:o[i + 1]].reshape(s) for i, (n, s) in enumerate(zip(self.names, self.shapes))}
