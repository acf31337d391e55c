"""The scene framework: scenes plan a timeline of animations with typed options; the loader finds a scene.

To add a scene: write ``scenes/NAME.py`` with one ``scene.Scene`` subclass (or
``SCENE = Cls``); the file name is its name, listed without importing it and
resolved by ``lossfilm.scenes.scene_class``. Declare typed ``options`` and plan in
``construct()`` with the ``add_*`` blocks, ``play()`` and ``wait()``; a scene never
renders. To change the look or the heights, override ``choose_theme`` /
``choose_relief``. For several paths subclass ``race_scene.RaceScene``. Add a
320x240 image test.
"""
