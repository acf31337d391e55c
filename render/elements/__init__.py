"""What a film draws: the surface and its mesh, ball, path tube, markers, camera, HUD, legend, insets and theme."""
