"""What a film shows over the 3-D scene: the HUD, the race's legend, and the inset plots (the 1-D segment, the sharpness)."""
