"""A uniform grid cover of zone polygons: each cell is inside, outside or on the boundary.

The cover answers most point-in-zone questions by array lookup. A cell is marked

* BOUNDARY for a zone when its box, grown by `CELL_MARGIN` cells on every side, may touch the
  zone's boundary (conservative: a few cells next to the boundary are marked too);
* INSIDE when it is not a boundary cell and its centre lies in the zone — then the whole grown
  box lies in the zone's interior, so every point that maps to the cell is strictly inside;
* outside (not stored) otherwise.

Points are mapped to cells by `floor((x - x0) / size)`. Floating-point rounding can place a
point a few ulps outside the box of the cell it maps to, never `CELL_MARGIN` (1e-6 cells) away,
so the INSIDE/outside answers are exact; BOUNDARY answers are left to an exact Shapely test.

Storage is CSR-like: `ptr[c]:ptr[c+1]` slices `entries`, each entry `zone * 2 + is_boundary`,
sorted by zone within a cell. One extra cell index (`outside_cell`) has no entries and receives
points outside the grid, NaN included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

CELL_MARGIN = 1e-6  # cells; >> rounding of the point-to-cell mapping (~1e-12 cells)
# Cell size is chosen so that boundary cells cover about this share of the zones' bounding
# box (the share of uniformly spread points that need an exact test) ...
TARGET_BOUNDARY_SHARE = 0.01
# ... within a memory budget: ptr is int32 per cell (16 MB at the default).
MAX_CELLS = 1 << 22
BOUNDARY_CELLS_PER_LENGTH = 2.0  # marked boundary cells per cell-length of ring (measured ~1.6-2)


@dataclass(frozen=True, eq=False)
class GridSpec:
    x0: float
    y0: float
    size: float
    nx: int
    ny: int

    @property
    def outside_cell(self) -> int:
        return self.nx * self.ny


@dataclass(frozen=True, eq=False)
class CellCover:
    spec: GridSpec | None  # None when there are no zones
    ptr: np.ndarray  # int32 (int64 past 2**31 entries), len = cells + 2
    entries: np.ndarray  # int32, zone * 2 + is_boundary

    @classmethod
    def build(cls, geometries: Sequence, *, cell_size: float | None = None,
              max_cells: int = MAX_CELLS) -> CellCover:
        """Cover of `geometries` (valid Polygon/MultiPolygon); zone index = position."""
        if not len(geometries):
            return cls(None, np.zeros(2, np.int32), np.zeros(0, np.int32))
        spec = _grid_spec(geometries, cell_size, max_cells)
        cells, codes = _zone_cells_all(geometries, spec)
        order = np.lexsort((codes, cells))
        counts = np.bincount(cells, minlength=spec.outside_cell + 1)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32 if len(codes) < 2**31 else np.int64)
        return cls(spec, ptr, codes[order].astype(np.int32))

    @property
    def cell_count(self) -> int:
        return 0 if self.spec is None else self.spec.outside_cell

    def cells_of(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Cell index per point; `outside_cell` for points off the grid or NaN."""
        spec = self.spec
        fx = (xs - spec.x0) / spec.size
        fy = (ys - spec.y0) / spec.size
        on_grid = (fx >= 0.0) & (fx < spec.nx) & (fy >= 0.0) & (fy < spec.ny)
        np.copyto(fx, 0.0, where=~on_grid)
        np.copyto(fy, 0.0, where=~on_grid)
        cells = fy.astype(np.int64) * spec.nx + fx.astype(np.int64)
        np.copyto(cells, spec.outside_cell, where=~on_grid)
        return cells

    def candidates(self, xs: np.ndarray, ys: np.ndarray):
        """(point_index, zone_index, is_boundary) for every zone whose cover holds the point."""
        if self.spec is None or not len(xs):
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0, bool)
        cells = self.cells_of(xs, ys)
        starts = self.ptr[cells]
        counts = self.ptr[cells + 1] - starts
        points = np.flatnonzero(counts)
        counts, starts = counts[points], starts[points]
        ends = np.cumsum(counts)
        slots = np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - (ends - counts), counts)
        codes = self.entries[slots]
        return np.repeat(points, counts), codes >> 1, (codes & 1).astype(bool)


# ---------------------------------------------------------------- choosing the grid


def _grid_spec(geometries, cell_size, max_cells) -> GridSpec:
    minx, miny, maxx, maxy = shapely.total_bounds(geometries)
    width, height = maxx - minx, maxy - miny
    size = cell_size or _adaptive_cell_size(geometries, width, height)
    size = max(size, math.sqrt(width * height / max_cells), 1e-9)
    nx, ny = int(width // size) + 3, int(height // size) + 3  # one empty cell of padding around
    while nx * ny > max_cells:
        size *= 1.05
        nx, ny = int(width // size) + 3, int(height // size) + 3
    return GridSpec(float(minx - size), float(miny - size), float(size), nx, ny)


def _adaptive_cell_size(geometries, width, height) -> float:
    """Size at which boundary cells cover about TARGET_BOUNDARY_SHARE of the bounding box."""
    perimeter = float(shapely.length(geometries).sum())
    area = width * height
    return TARGET_BOUNDARY_SHARE * area / (BOUNDARY_CELLS_PER_LENGTH * perimeter)


# ---------------------------------------------------------------- classifying cells per zone


def _zone_cells_all(geometries, spec: GridSpec):
    all_cells, all_codes = [], []
    for zone, geometry in enumerate(geometries):
        cells, boundary = _zone_cells(geometry, spec)
        all_cells.append(cells)
        all_codes.append(zone * 2 + boundary.astype(np.int64))
    return np.concatenate(all_cells), np.concatenate(all_codes)


def _zone_cells(geometry, spec: GridSpec):
    """Global cell ids of one zone's INSIDE and BOUNDARY cells, and a boundary flag per id."""
    u, v, ring = _ring_vertices_in_cells(geometry, spec)
    same_ring = ring[:-1] == ring[1:]
    u1, v1, u2, v2 = u[:-1][same_ring], v[:-1][same_ring], u[1:][same_ring], v[1:][same_ring]
    i0, j0 = int(math.floor(u.min())) - 1, int(math.floor(v.min())) - 1
    cols, rows = int(math.floor(u.max())) + 2 - i0, int(math.floor(v.max())) + 2 - j0
    boundary = np.zeros((rows, cols), bool)
    bi, bj = _boundary_cells(u1, v1, u2, v2)
    boundary[bj - j0, bi - i0] = True
    inside = _centre_parity(u1, v1, u2, v2, i0, j0, cols, rows) & ~boundary
    local = np.flatnonzero((boundary | inside).ravel())
    jj, ii = np.divmod(local, cols)
    return (jj + j0) * spec.nx + (ii + i0), boundary.ravel()[local]


def _ring_vertices_in_cells(geometry, spec: GridSpec):
    rings = shapely.get_rings(shapely.get_parts(geometry))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return (xy[:, 0] - spec.x0) / spec.size, (xy[:, 1] - spec.y0) / spec.size, ring


def _boundary_cells(u1, v1, u2, v2):
    """Cells whose margin-grown box may meet a segment: every segment is cut into pieces no
    longer than one cell, and every cell under a piece's margin-grown bounding box is taken."""
    pieces = np.maximum(np.ceil(np.maximum(np.abs(u2 - u1), np.abs(v2 - v1))), 1).astype(np.int64)
    segment = np.repeat(np.arange(len(u1)), pieces)
    step = np.arange(len(segment)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = step / pieces[segment], (step + 1) / pieces[segment]
    du, dv = (u2 - u1)[segment], (v2 - v1)[segment]
    pu0, pu1 = u1[segment] + t0 * du, u1[segment] + t1 * du
    pv0, pv1 = v1[segment] + t0 * dv, v1[segment] + t1 * dv
    lo_i = np.floor(np.minimum(pu0, pu1) - CELL_MARGIN).astype(np.int64)
    hi_i = np.floor(np.maximum(pu0, pu1) + CELL_MARGIN).astype(np.int64)
    lo_j = np.floor(np.minimum(pv0, pv1) - CELL_MARGIN).astype(np.int64)
    hi_j = np.floor(np.maximum(pv0, pv1) + CELL_MARGIN).astype(np.int64)
    cells_i, cells_j = [], []
    for di in range(3):  # a piece spans at most 1 + 2 * margin cells, so at most 3 columns
        for dj in range(3):
            take = (lo_i + di <= hi_i) & (lo_j + dj <= hi_j)
            cells_i.append(lo_i[take] + di)
            cells_j.append(lo_j[take] + dj)
    return np.concatenate(cells_i), np.concatenate(cells_j)


def _centre_parity(u1, v1, u2, v2, i0, j0, cols, rows) -> np.ndarray:
    """Even-odd rule at every cell centre of the zone's sub-grid (scanline fill).

    A segment crosses the centre line of row j when min(v) <= j + 0.5 < max(v) (half-open,
    so a vertex on the line is counted once); cells right of the crossing toggle parity.
    Exact for non-boundary cells: their centres are half a cell from every segment.
    """
    lo, hi = np.minimum(v1, v2), np.maximum(v1, v2)
    first = np.ceil(lo - 0.5).astype(np.int64)
    count = np.maximum(np.ceil(hi - 0.5).astype(np.int64) - first, 0)
    segment = np.repeat(np.arange(len(u1)), count)
    row = np.repeat(first, count) + np.arange(len(segment)) - np.repeat(np.cumsum(count) - count, count)
    centre_v = row + 0.5
    u = u1[segment] + (centre_v - v1[segment]) * (u2 - u1)[segment] / (v2 - v1)[segment]
    column = np.clip(np.floor(u - 0.5).astype(np.int64) + 1 - i0, 0, cols)
    toggles = np.bincount((row - j0) * (cols + 1) + column, minlength=rows * (cols + 1))
    return (np.cumsum(toggles.reshape(rows, cols + 1), axis=1)[:, :cols] & 1).astype(bool)
