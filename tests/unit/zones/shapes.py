"""Canonical zone geometries (WGS-84, around Guiyang) for engine and rule tests.

The Guiyang district data has no holes and only single-part MultiPolygons, so holes, multiple
parts, overlaps and degenerate sizes are built here.
"""

from shapely.geometry import MultiPolygon, Polygon


def box(x0, y0, x1, y1, holes=()):
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [list(h.exterior.coords) for h in holes])


# Square with a square hole; points in the hole are outside the zone.
SQUARE_WITH_HOLE = box(106.60, 26.50, 106.70, 26.60, holes=[box(106.62, 26.52, 106.68, 26.58)])
POINT_IN_HOLE = (106.63, 26.53)
POINT_IN_SQUARE_RING = (106.61, 26.51)

# Two parts far apart; points in either part are inside the one zone.
TWO_PARTS = MultiPolygon([box(106.75, 26.50, 106.78, 26.53), box(106.85, 26.60, 106.88, 26.63)])
POINT_IN_FIRST_PART = (106.76, 26.51)
POINT_IN_SECOND_PART = (106.87, 26.62)
POINT_BETWEEN_PARTS = (106.82, 26.57)

# Overlaps SQUARE_WITH_HOLE, including part of its hole.
OVERLAPPING_SQUARE = box(106.64, 26.54, 106.74, 26.64)

# Concave L with a diagonal cut, so edges are not all axis-aligned.
CONCAVE = Polygon([(106.40, 26.40), (106.50, 26.40), (106.50, 26.43), (106.43, 26.43),
                   (106.43, 26.50), (106.40, 26.47)])
POINT_IN_NOTCH = (106.47, 26.47)  # inside the L's bounding box, outside the L

# A hole touching the shell at a single vertex (valid per OGC).
HOLE_TOUCHING_SHELL = Polygon(
    [(106.20, 26.20), (106.30, 26.20), (106.30, 26.30), (106.20, 26.30)],
    [[(106.20, 26.25), (106.25, 26.22), (106.25, 26.28), (106.20, 26.25)]],
)

# A zone far smaller than any sensible grid cell (about 2 m across) and a long thin sliver.
TINY = box(106.90, 26.90, 106.90002, 26.90002)
SLIVER = Polygon([(106.30, 26.70), (106.60, 26.7001), (106.60, 26.7002), (106.30, 26.70005)])

ALL_SHAPES = {
    "square_with_hole": SQUARE_WITH_HOLE,
    "two_parts": TWO_PARTS,
    "overlapping_square": OVERLAPPING_SQUARE,
    "concave": CONCAVE,
    "hole_touching_shell": HOLE_TOUCHING_SHELL,
    "tiny": TINY,
    "sliver": SLIVER,
}
