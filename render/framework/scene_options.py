"""Scene options: ``--option key=value`` text, typed by the option's default.

Examples
--------
>>> parse_options({"orbit": True, "hold": 1.5}, {"orbit": "false"})
{'orbit': False, 'hold': 1.5}
"""

from __future__ import annotations

from lossfilm.format.errors import ConfigError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_options(defaults, raw, owner="scene"):
    """Typed option values: ``raw`` strings converted by the type of each default.

    Parameters
    ----------
    defaults : dict
        Every option the ``owner`` takes and its default; the default's type
        (bool, int, float or str) is the option's type.
    raw : dict
        The options given, as text.
    owner : str
        Who takes the options, for error messages.

    Raises
    ------
    ConfigError
        An unknown option (the message lists the known ones) or a value of the wrong type.

    Examples
    --------
    >>> parse_options({"n": 3, "camera": "top"}, {"n": "7"})
    {'n': 7, 'camera': 'top'}
    """
    values = dict(defaults)
    for key, text in raw.items():
        if key not in defaults:
            raise ConfigError(f"option {key!r} is unknown to {owner}; it takes {', '.join(sorted(defaults))}")
        default = defaults[key]
        text = str(text).strip()
        try:
            if isinstance(default, bool):
                if text.lower() not in _TRUE | _FALSE:
                    raise ValueError
                values[key] = text.lower() in _TRUE
            elif isinstance(default, (int, float)):
                values[key] = type(default)(float(text)) if isinstance(default, float) else int(text)
            else:
                values[key] = text
        except ValueError:
            kind = "true/false" if isinstance(default, bool) else type(default).__name__
            raise ConfigError(f"option {key}={text!r}: expected {kind}") from None
    return values
