"""The interactive viewer: a landscape as one self-contained HTML page.

``lossfilm view`` and ``lossfilm.view`` write it; a notebook shows it inline.
The page draws what the film draws (the surface in the film's colours, the
contour floor, the path, the ball, the start and end markers, the HUD) and
lets the reader turn the surface, scrub the run and read the loss under the
mouse. Everything it needs is inside the file: the vendored plotly.js gl3d
bundle (MIT, ``vendor/``), the numbers, and the script that plays them.

This package reads the format layer and the render layer's theme and height
scaling; it never imports PyVista (the page is drawn by the browser).

- :mod:`lossfilm.viewer.scene_data`: a Landscape -> the numbers the page draws
- :mod:`lossfilm.viewer.page`: those numbers + the script -> the HTML file
- :mod:`lossfilm.viewer.notebook`: Jupyter display of landscapes, films and stills
"""
