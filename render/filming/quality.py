"""Quality presets: the one table of film sizes, frame rates, supersampling and encoder settings.

CLI choices and defaults are derived from :data:`QUALITIES`; ``--size`` and
``--fps`` override a preset's values.

Examples
--------
>>> QUALITIES["high"].size, QUALITIES["high"].fps
((1920, 1080), 30)
>>> parse_size("1280x720")
(1280, 720)
"""

from __future__ import annotations

from dataclasses import dataclass

from lossfilm.format.declared.values import MAX_SIDE, Size  # noqa: F401 (MAX_SIDE: the one limit, re-exported)


# Anti-aliasing, chosen by measurement (python -m tests.bench prints the figures): render larger than the
# film, with the renderer's multisampling off, and let ffmpeg downscale with a Lanczos filter in its own
# process. Against the same frame rendered at 4x and box-downsampled, 1.5x at 1280x720 and 1.25x at
# 1920x1080 score 3 to 4 dB above VTK's SSAA pass (the old default) at a third of its cost or less; MSAA,
# FXAA and SSAA cost 1.5x to 7x a plain frame under Mesa llvmpipe and score no better than none.
SUPERSAMPLE = 1.5
DOWNSCALE = "lanczos"  # ffmpeg's scaler for the supersampled frames
# --draft: previews; one plain render per frame and the fastest x264 preset.
DRAFT_PRESET = "ultrafast"


@dataclass(frozen=True)
class Quality:
    """A named film preset."""

    name: str
    width: int
    height: int
    fps: int
    crf: int  # x264 constant rate factor: lower is better and bigger; 18 is visually lossless
    preset: str  # x264 speed: "veryfast" costs a third of "medium"'s CPU, which the renderer needs more
    supersample: float = SUPERSAMPLE  # render this many times larger; ffmpeg downscales (the anti-aliasing)

    @property
    def size(self):
        """``(width, height)`` in pixels."""
        return (self.width, self.height)


QUALITIES = {
    quality.name: quality
    for quality in (
        Quality("low", 854, 480, 15, crf=23, preset="veryfast"),
        Quality("medium", 1280, 720, 30, crf=20, preset="veryfast"),
        Quality("high", 1920, 1080, 30, crf=18, preset="veryfast", supersample=1.25),  # 1.5x: 0.4 dB more
        Quality("4k", 3840, 2160, 30, crf=18, preset="medium", supersample=1.0),  # its pixels are small already
    )
}
# The CLI's default for render, race and classic (lossfilm demo makes its film at "medium").
DEFAULT_QUALITY = "low"
STILL_SIZE = (1920, 1080)
GIF_WIDTH = 640  # pixels; GIFs are for READMEs and slides, where a film's full size is wasted bytes
GIF_FPS = 15
# A GIF's frame delays are whole 1/100 s and browsers play delays under 2/100 s as 1/10 s: 50 fps is its limit.
GIF_MAX_FPS = 50


def parse_size(text, *, even=True, option="--size"):
    """Parse ``"WxH"`` into ``(width, height)``, checking it can be rendered and encoded.

    Parameters
    ----------
    text : str
        Width and height in pixels, e.g. ``"1920x1080"``.
    even : bool
        Require even sides, as H.264 in yuv420p does (MP4 and GIF films);
        stills and PNG sequences may be odd.
    option : str
        The option's name, for error messages.

    Raises
    ------
    ConfigError
        If the text is not ``WxH``, a side is outside 16..8192
        (:class:`lossfilm.format.declared.values.Size`), or (with ``even``) odd; the
        message then suggests the nearest even size.

    Examples
    --------
    >>> parse_size("640X480")
    (640, 480)
    >>> parse_size("641x480")
    Traceback (most recent call last):
    ...
    lossfilm.format.errors.ConfigError: --size 641x480: MP4 and GIF need even width and height; use 642x480
    """
    size = Size().read(text, option)
    return Size.check_even(size, option) if even else size


def check_size(size, *, even=True, option="--size"):
    """Raise ConfigError unless ``size`` is a renderable ``(width, height)``; see :func:`parse_size`.

    Examples
    --------
    >>> check_size((320, 240))
    """
    size = Size().check(size, option)
    if even:
        Size.check_even(size, option)
