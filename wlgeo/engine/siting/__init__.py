"""New quarry sites (规划新建): raster suitability with rasterio, numpy and scipy.

:func:`propose_sites` lays one grid (the DEM's, or the boundary's at
``siting.grid_resolution_m``), computes 0–1 factors (Horn slope, Euclidean distances to roads,
railways, parks and ports), the exclusion mask (every close-rule and corridor zone and their
buffers, kept quarries plus spacing, outside limestone zones / planning blocks / boundary, slope
over the limit; with ``[visibility]`` on, the viewshed of trunk lines and main rivers instead of
their corridors), scores cells by the scenario's weights, grows compact site-sized blocks, and
chooses the set of blocks with the largest total score under the spacing and the caps (an
integer programme, :mod:`.optimal`; or greedily, ``siting.selection = "greedy"``). Every site
is checked against the original vector constraints.

Modules: :mod:`.grid` (the grid, DEM reading, rasterising; GeoTIFF writing is :mod:`wlgeo.io.raster`), :mod:`.factors`,
:mod:`.mask`, :mod:`.select`, :mod:`.optimal`, :mod:`.core`.
"""

from __future__ import annotations

from wlgeo.engine.siting.core import SITE_COLUMNS, SitingResult, propose_sites
from wlgeo.engine.siting.factors import distance_to, normalise, slope_degrees, weighted_sum
from wlgeo.engine.siting.grid import Grid, check_on_grid, grid_from_bounds, rasterize, read_dem
from wlgeo.engine.siting.mask import MaskResult, burn_inside, burn_outside, exclusion_mask
from wlgeo.engine.siting.optimal import Caps, SelectionReport, choose_sites
from wlgeo.engine.siting.select import check_site, room_for_sites

__all__ = [
    "propose_sites",
    "SitingResult",
    "SITE_COLUMNS",
    "Grid",
    "grid_from_bounds",
    "read_dem",
    "check_on_grid",
    "rasterize",
    "slope_degrees",
    "distance_to",
    "normalise",
    "weighted_sum",
    "exclusion_mask",
    "MaskResult",
    "burn_outside",
    "burn_inside",
    "check_site",
    "room_for_sites",
    "choose_sites",
    "Caps",
    "SelectionReport",
]
