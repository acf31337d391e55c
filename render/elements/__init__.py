"""What a film draws in 3-D: the surface and its mesh, the ball, the path tube, markers, the camera and the theme."""
