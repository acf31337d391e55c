"""The flat screen layer under everything drawn in 2-D: layout, text and its measurement, flat marks, and the placement that keeps labels clear of each other."""
