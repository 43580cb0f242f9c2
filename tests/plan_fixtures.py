"""A small synthetic pack in EPSG:4545 where every DESIGN §4 rule fires once, with figures by hand.

Quarries are 200 m × 100 m rectangles (20 000 m²) laid out in slots 5 km apart along a row, so
constraint features placed for one quarry are far (> 4 km) from every other quarry. The golden
figures below are worked out by hand from the rectangles, not by wlgeo.

=====  ===  =========  ==================================================================
id     cap  decision   why (hand figures)
=====  ===  =========  ==================================================================
Q01    80   close      red line box overlaps x 100..200 × y 50..100 → 5000 m² = 25 %
Q02    80   close      farmland overlaps x 150..200 × y 0..20 → 1000 m² = 5 %
Q03    80   close      world-heritage area overlaps x 0..50 × y 60..100 → 2000 m² = 10 %
Q04    80   close      settlement point 180 m east of the east edge
Q05    80   expire     expressway G65 650 m north (a township road 50 m south is not trunk);
                       licence ends 2027-06-30
Q06    80   expire     main river 乌江 420 m south (a non-main river 100 m north)
Q07    80   close      red line 100 m × 100 m = 10 000 m² (50 %), settlement 250 m, G319 800 m
Q08    100  consol.    chain Q08–Q09–Q10: gaps 800 m and 800 m; Q08–Q10 are 1800 m apart
Q09    30   consol.
Q10    120  consol.
Q11    100  retain     two large quarries 500 m apart; Q11's licence ends 2026-01-31
Q12    60   retain
Q13    20   expire     small; its only neighbour (Q14, 400 m) is closed
Q14    20   close      farmland 100 × 80 = 8000 m² (40 %)
Q15    49.5 expire     small, alone
P1     10   consol.    pair 300 m apart → group G01 (smallest member id P1 < Q08)
P2     100  consol.
=====  ===  =========  ==================================================================
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import shapely

from wlgeo.model.pack import LayerPack

CRS = "EPSG:4545"
X0, Y0 = 450_000.0, 3_250_000.0
SLOT = 5_000.0
FAR_END = dt.date(2035, 12, 31)


def slot(k: int) -> tuple[float, float]:
    return X0 + k * SLOT, Y0


def rect(x: float, y: float, w: float = 200.0, h: float = 100.0):
    return shapely.box(x, y, x + w, y + h)


EXPECTED = {
    "Q01": "close", "Q02": "close", "Q03": "close", "Q04": "close", "Q05": "expire", "Q06": "expire",
    "Q07": "close", "Q08": "consolidate", "Q09": "consolidate", "Q10": "consolidate", "Q11": "retain",
    "Q12": "retain", "Q13": "expire", "Q14": "close", "Q15": "expire", "P1": "consolidate", "P2": "consolidate",
}

TOWN_A, TOWN_B = "甲镇", "乙乡"


def quarries() -> gpd.GeoDataFrame:
    rows = []

    def add(qid, geom, cap, end=FAR_END, town=None):
        rows.append({"quarry_id": qid, "name": f"{qid}采石场", "capacity": cap, "license_end": end,
                     "town": town, "geometry": geom})

    for k, qid in enumerate(["Q01", "Q02", "Q03", "Q04", "Q05", "Q06", "Q07"]):
        x, y = slot(k)
        add(qid, rect(x, y), 80.0, dt.date(2027, 6, 30) if qid == "Q05" else FAR_END)
    x, y = slot(8)
    add("Q08", rect(x, y), 100.0)
    add("Q09", rect(x + 1000, y), 30.0)
    add("Q10", rect(x + 2000, y), 120.0)
    x, y = slot(10)
    add("Q11", rect(x, y), 100.0, dt.date(2026, 1, 31))
    add("Q12", rect(x + 700, y), 60.0)
    x, y = slot(12)
    add("Q13", rect(x, y), 20.0)
    add("Q14", rect(x + 600, y), 20.0)
    x, y = slot(14)
    add("Q15", rect(x, y), 49.5)
    x, y = slot(16)
    add("P2", rect(x, y), 100.0)
    add("P1", rect(x + 500, y), 10.0)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    # towns: slots 0–9 in 甲镇 by field; the others have no town value and lie in 乙乡's polygon,
    # except Q08 whose field says 乙乡 although it lies in 甲镇's polygon (the field wins)
    frame["town"] = [TOWN_A if geom.bounds[0] < X0 + 9 * SLOT else None for geom in frame.geometry]
    frame.loc[frame["quarry_id"] == "Q08", "town"] = TOWN_B
    return frame


def towns() -> gpd.GeoDataFrame:
    west = shapely.box(X0 - 2000, Y0 - 3000, X0 + 9 * SLOT, Y0 + 3000)
    east = shapely.box(X0 + 9 * SLOT, Y0 - 3000, X0 + 18 * SLOT, Y0 + 3000)
    return gpd.GeoDataFrame({"town": [TOWN_A, TOWN_B]}, geometry=[west, east], crs=CRS)


def boundary() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["测试区"]}, geometry=[shapely.box(X0 - 2000, Y0 - 3000, X0 + 18 * SLOT, Y0 + 3000)],
                            crs=CRS)


def red_line() -> gpd.GeoDataFrame:
    x1, y1 = slot(0)
    x7, y7 = slot(6)
    return gpd.GeoDataFrame({"category": ["生态", "生态"]},
                            geometry=[shapely.box(x1 + 100, y1 + 50, x1 + 300, y1 + 300),
                                      shapely.box(x7 + 100, y7, x7 + 200, y7 + 100)], crs=CRS)


def farmland() -> gpd.GeoDataFrame:
    x2, y2 = slot(1)
    x12, y12 = slot(12)
    return gpd.GeoDataFrame(geometry=[shapely.box(x2 + 150, y2 - 100, x2 + 250, y2 + 20),
                                      shapely.box(x12 + 700, y12 + 20, x12 + 900, y12 + 300)], crs=CRS)


def protected_areas() -> gpd.GeoDataFrame:
    x3, y3 = slot(2)
    return gpd.GeoDataFrame({"kind": ["world_heritage"], "name": ["天生三桥"]},
                            geometry=[shapely.box(x3 - 50, y3 + 60, x3 + 50, y3 + 200)], crs=CRS)


def settlements() -> gpd.GeoDataFrame:
    x4, y4 = slot(3)
    x7, y7 = slot(6)
    return gpd.GeoDataFrame({"name": ["张家院子", "李家湾"]},
                            geometry=[shapely.Point(x4 + 200 + 180, y4 + 50), shapely.Point(x7 + 100, y7 - 250)],
                            crs=CRS)


def roads() -> gpd.GeoDataFrame:
    x5, y5 = slot(4)
    x7, y7 = slot(6)
    return gpd.GeoDataFrame(
        {"kind": ["expressway", "township", "national"], "name": ["G65", "乡道", "G319"]},
        geometry=[
            shapely.LineString([(x5 - 100, y5 + 100 + 650), (x5 + 300, y5 + 100 + 650)]),
            shapely.LineString([(x5 - 100, y5 - 50), (x5 + 300, y5 - 50)]),
            shapely.LineString([(x7 - 100, y7 + 100 + 800), (x7 + 300, y7 + 100 + 800)]),
        ],
        crs=CRS,
    )


def rivers() -> gpd.GeoDataFrame:
    x6, y6 = slot(5)
    return gpd.GeoDataFrame(
        {"name": ["乌江", "小溪"], "main": [True, False]},
        geometry=[shapely.LineString([(x6 - 100, y6 - 420), (x6 + 300, y6 - 420)]),
                  shapely.LineString([(x6 - 100, y6 + 200), (x6 + 300, y6 + 200)])],
        crs=CRS,
    )


def layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "boundary": boundary(),
        "towns": towns(),
        "quarries": quarries(),
        "red_line": red_line(),
        "farmland": farmland(),
        "protected_areas": protected_areas(),
        "settlements": settlements(),
        "roads": roads(),
        "rivers": rivers(),
    }


def pack() -> LayerPack:
    return LayerPack(layers())


def write_pack(path) -> None:
    """Write the pack as a GeoPackage with canonical layer names (plain pyogrio)."""
    for name, frame in layers().items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
