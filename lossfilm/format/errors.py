"""Error types for user mistakes, caught once by the CLI and printed as one line.

Anything that is *not* one of these is a bug in lossfilm and keeps its
traceback.
"""


class LossfilmError(Exception):
    """Base class: a problem the user can fix (bad file, bad option)."""


class DataError(LossfilmError):
    """A data set file is missing, malformed or inconsistent."""


class ArtifactError(LossfilmError):
    """A trajectory or landscape file is missing, malformed or mismatched."""


class ConfigError(LossfilmError):
    """An option or argument has an impossible value."""


class RenderError(LossfilmError):
    """Rendering or encoding cannot proceed (no back-end, unwritable output)."""


class LossfilmWarning(UserWarning):
    """Something drawn that a viewer may misread (holes, a flat surface, a path off the grid); the CLI prints it
    as one line, ``lossfilm CMD: warning: ...``."""


class UserCodeError(LossfilmError):
    """A user's function (``loss_fn``, ``grad_fn``, a model, a scene file) raised, or returned what lossfilm cannot
    use: one line naming the function, what happened and where (:mod:`lossfilm.format.user_code`)."""
