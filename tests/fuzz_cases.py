"""Hypothesis strategies for wlgeo's inputs, shared by ``tests/test_fuzz.py`` (a small fixed
budget in the suite) and ``scripts/fuzz.py`` (long campaigns in subprocesses).

Each strategy draws the *text or bytes of a file* (or CLI arguments) that is mostly well-formed
— so the reader gets past its first check — with hostile values spliced in: huge and
non-finite numbers, NUL and bidi characters, template syntax, quotes, empty fields, wrong
counts, unclosed rings, lists where one value belongs. The property under test is always the
same: the reader returns a frame or raises :class:`wlgeo.WlgeoError` — never another exception,
and the CLI never exits 3 nor prints a traceback.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

X0, Y0 = 3_250_000.0, 460_000.0  # northing, easting in Wulong (EPSG:4545)

HOSTILE_TEXT = [
    "", " ", "{{7*7}}", "{% raw %}", "'\"", "<img src=x onerror=1>", "=HYPERLINK(\"http://x\")", "\u202eexe.pdf",
    "\x00", "a\tb", "..", "../../x", "CON", "武隆区", "NaN", "inf", "-0", "1e400", "9" * 400, "\ufeff", "@", ",",
    "\r\n", "\u2028", "$x^2$",
]
HOSTILE_NUMBERS = [
    "0", "-1", "1", "1.5", "1e400", "-1e400", "inf", "-inf", "nan", "1e308", "4.9e-324", "9" * 30, "", "x", "1,5",
    "0x10", "1_000", " 12 ", "３", "+5", "1e-400",
]


def _number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )


def _coordinate(base: float) -> st.SearchStrategy[str]:
    return st.one_of(
        st.floats(min_value=base - 5000, max_value=base + 5000).map(lambda v: f"{v:.3f}"),
        st.floats(min_value=base - 5000, max_value=base + 5000).map(lambda v: f"36{v:.3f}"),  # zone prefix
        _number_text(),
    )


def _maybe(draw, clean: bool, good, bad):
    """``good`` in a clean file; in a hostile one, ``good`` or a draw from ``bad``."""
    return good if clean or draw(st.booleans()) else draw(bad)


def _square(draw, base_x: float, base_y: float) -> list[tuple[float, float]]:
    x = base_x + draw(st.integers(-4000, 4000))
    y = base_y + draw(st.integers(-4000, 4000))
    size = draw(st.integers(20, 500))
    return [(x, y), (x, y + size), (x + size, y + size), (x + size, y)]


@st.composite
def bubiao_text(draw) -> str:
    """A 部标 TXT file: a header, then parcels whose 点数 and points may disagree. A quarter of
    the files are clean (the reader must read them); the others carry hostile values."""
    clean = draw(st.integers(0, 3)) == 0
    lines = ["[属性描述]"]
    header = {
        "坐标系": _maybe(draw, clean, "2000国家大地坐标系", st.sampled_from(["80西安坐标系", "54北京坐标系", "WGS84", "", "{{7*7}}"])),
        "几度分带": _maybe(draw, clean, "3", st.sampled_from(["6", "", "x", "1e400"])),
        "带号": _maybe(draw, clean, "36", st.sampled_from(["35", "37", "", "99999999999", "x"])),
        "计量单位": _maybe(draw, clean, "米", st.sampled_from(["m", ""])),
    }
    for key, value in header.items():
        if clean or draw(st.booleans()):
            lines.append(f"{key}={value}")
    lines.append("[地块坐标]")
    for p in range(draw(st.integers(min_value=1 if clean else 0, max_value=3))):
        corners = _square(draw, X0, Y0)
        points = [(f"{x:.3f}", f"{y:.3f}") for x, y in corners] + [(f"{corners[0][0]:.3f}", f"{corners[0][1]:.3f}")]
        if not clean and draw(st.booleans()):
            points = [(draw(_coordinate(X0)), draw(_coordinate(Y0))) for _ in range(draw(st.integers(0, 7)))]
        fields = [
            _maybe(draw, clean, str(len(points)), _number_text()),
            _maybe(draw, clean, "2.0", _number_text()),
            _maybe(draw, clean, f"P{p}", st.sampled_from(HOSTILE_TEXT)),
            _maybe(draw, clean, "地块", st.sampled_from(HOSTILE_TEXT)),
            _maybe(draw, clean, "面", st.sampled_from(["线", "点", "", "圆", "{{1}}"])),
            "", "", "",
        ]
        lines.append(",".join(fields) + ",@")
        ring = _maybe(draw, clean, "1", st.sampled_from(["2", "", "x"]))
        for i, (x, y) in enumerate(points):
            lines.append(f"J{i + 1},{ring},{x},{y}")
    if not clean and draw(st.booleans()):
        lines.insert(draw(st.integers(min_value=0, max_value=len(lines))), draw(st.sampled_from(HOSTILE_TEXT)))
    return "\n".join(lines) + "\n"


@st.composite
def corner_csv(draw) -> str:
    """A corner-point table: a header (English or Chinese, maybe below a title), rows per corner;
    a quarter of the tables are clean."""
    clean = draw(st.integers(0, 3)) == 0
    headers = [["quarry_id", "point", "x", "y"], ["矿权编号", "拐点号", "X坐标", "Y坐标"], ["编号", "点号", "纵坐标", "横坐标", "圈号"]]
    header = draw(st.sampled_from(headers if clean else headers + [["id", "x", "y"], ["name", "point", "x", "y", "capacity"],
                                                                   ["a", "b", "c"]]))
    rows = []
    if draw(st.booleans()):
        rows.append([_maybe(draw, clean, "武隆区采矿权拐点坐标表", st.sampled_from(HOSTILE_TEXT))])
    rows.append(header)
    for r in range(draw(st.integers(min_value=1 if clean else 0, max_value=3))):
        right = _maybe(draw, clean, f"R{r}", st.sampled_from(HOSTILE_TEXT))
        corners = _square(draw, X0, Y0)
        n = 4 if clean else draw(st.integers(min_value=0, max_value=6))
        for i in range(n):
            x, y = corners[i % 4]
            row = []
            for column in header:
                if column in ("x", "X坐标", "纵坐标"):
                    row.append(_maybe(draw, clean, f"{x:.3f}", _coordinate(X0)))
                elif column in ("y", "Y坐标", "横坐标"):
                    row.append(_maybe(draw, clean, f"36{y:.3f}", _coordinate(Y0)))  # zone prefix: the zone is known
                elif column in ("point", "拐点号", "点号"):
                    row.append(f"J{i}")
                elif column in ("圈号",):
                    row.append(_maybe(draw, clean, "1", st.sampled_from(["2", "", "x"])))
                elif column == "capacity":
                    row.append(draw(_number_text()))
                else:
                    row.append(right)
            rows.append(row)
    quote = draw(st.booleans())

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if quote or "," in v or '"' in v or "\n" in v else v

    return "\n".join(",".join(cell(v) for v in row) for row in rows) + "\n"


_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(HOSTILE_TEXT),
)
_JSON_VALUES = st.recursive(_JSON_SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                                   st.dictionaries(st.text(max_size=3), kids, max_size=2)),
                            max_leaves=5)


@st.composite
def _ring(draw, lon: float, lat: float) -> list:
    n = draw(st.integers(min_value=0, max_value=6))
    pts = [[lon + draw(st.floats(-0.01, 0.01)), lat + draw(st.floats(-0.01, 0.01))] for _ in range(n)]
    if pts and draw(st.booleans()):
        pts.append(list(pts[0]))
    return pts


@st.composite
def _geometry(draw):
    lon, lat = 107.75, 29.35
    if draw(st.booleans()):  # metres instead of degrees
        lon, lat = Y0, X0
    kind = draw(st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", "GeometryCollection", "Bogus", None]))
    if kind is None:
        return None
    if kind == "Polygon":
        coords = [draw(_ring(lon, lat)) for _ in range(draw(st.integers(0, 2)))]
    elif kind == "MultiPolygon":
        coords = [[draw(_ring(lon, lat))] for _ in range(draw(st.integers(0, 2)))]
    elif kind == "Point":
        coords = draw(st.one_of(st.just([lon, lat]), st.lists(st.floats(allow_nan=False), max_size=4)))
    elif kind == "LineString":
        coords = draw(_ring(lon, lat))
    elif kind == "GeometryCollection":
        return {"type": kind, "geometries": []}
    else:
        coords = []
    return {"type": kind, "coordinates": coords}


@st.composite
def geojson_text(draw) -> str:
    """A GeoJSON FeatureCollection (maybe with a crs member) of hostile features; a quarter of
    the files are clean (closed lon/lat squares, plain values)."""
    if draw(st.integers(0, 3)) == 0:
        features = []
        for i in range(draw(st.integers(min_value=1, max_value=4))):
            lon, lat = 107.5 + draw(st.integers(0, 50)) / 100, 29.2 + draw(st.integers(0, 30)) / 100
            ring = [[lon, lat], [lon + 0.002, lat], [lon + 0.002, lat + 0.002], [lon, lat + 0.002], [lon, lat]]
            features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                             "properties": {"quarry_id": f"Q{i}", "capacity": 60, "license_end": "2030-12-31",
                                            "name": draw(st.sampled_from(HOSTILE_TEXT))}})
        return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=draw(st.booleans()))
    features = []
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        props = {"quarry_id": draw(st.one_of(st.just(f"Q{i}"), _JSON_VALUES)),
                 "capacity": draw(st.one_of(st.just(60), _JSON_VALUES)),
                 "license_end": draw(st.one_of(st.just("2030-12-31"), _JSON_VALUES))}
        for key in draw(st.lists(st.sampled_from(["name", "owner", "town", "{{x}}", ""]), max_size=2)):
            props[key] = draw(_JSON_VALUES)
        features.append({"type": "Feature", "properties": props, "geometry": draw(_geometry())})
    doc: dict = {"type": "FeatureCollection", "features": features}
    if draw(st.booleans()):
        doc["crs"] = {"type": "name", "properties": {"name": draw(st.sampled_from(
            ["urn:ogc:def:crs:EPSG::4545", "EPSG:4326", "EPSG:999999", "{{7*7}}"]))}}
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # truncated file
        text = text[: draw(st.integers(0, len(text)))]
    return text


_TOML_VALUES = st.one_of(
    st.sampled_from(['"q.geojson"', '"missing.shp"', '""', '"../../etc/passwd"', '"a\\u0000b"', '"重要!资料/q.geojson"',
                     "1", "true", "[1, 2]", "{ a = 1 }", '"' + "x" * 5000 + '"', '"gbk"', '"EPSG:4545"', '"nope"',
                     "1e400", "nan", '"{{7*7}}"']),
)


@st.composite
def catalog_text(draw) -> str:
    """A catalog TOML naming a valid quarries GeoJSON (``q.geojson`` beside it) and hostile entries."""
    lines = []
    if draw(st.booleans()):
        lines.append(f"district = {draw(_TOML_VALUES)}")
    for name in draw(st.lists(st.sampled_from(["quarries", "red_line", "roads", "bogus", "boundary"]), max_size=3, unique=True)):
        lines.append(f"[layers.{name}]")
        lines.append(f"path = {draw(st.one_of(st.just(chr(34) + 'q.geojson' + chr(34)), _TOML_VALUES))}")
        for key in draw(st.lists(st.sampled_from(["layer", "encoding", "crs", "gcj02", "extra"]), max_size=2, unique=True)):
            lines.append(f"{key} = {draw(_TOML_VALUES)}")
    if draw(st.booleans()):
        lines.append("[dem]")
        lines.append(f"path = {draw(_TOML_VALUES)}")
    return "\n".join(lines) + "\n"


SCENARIO_KEYS = ["name", "blast_distance_m", "trunk_line_m", "main_river_m", "merge_distance_m", "min_capacity",
                 "min_overlap_m2", "max_quarries", "max_total_capacity", "horizon", "red_line_action", "trunk_kinds",
                 "closing_protected_kinds", "bogus"]
SITING_KEYS = ["grid_resolution_m", "max_slope_deg", "min_site_area_m2", "site_spacing_m", "max_new_sites",
               "new_site_capacity", "wujiang_buffer_m", "road_buffer_m", "weights", "saturation_m"]
_SCENARIO_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HOSTILE_TEXT + ["none", "2028-12-31", "close", "expire"]), st.booleans(),
    st.lists(st.sampled_from(["expressway", "railway", "x", "nature_reserve"]), max_size=3),
    st.dictionaries(st.sampled_from(["roads", "parks", "ports", "slope", "county", "x"]),
                    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)), max_size=3),
)


@st.composite
def scenario_dict(draw) -> dict:
    data = {key: draw(_SCENARIO_VALUES) for key in draw(st.lists(st.sampled_from(SCENARIO_KEYS), max_size=4, unique=True))}
    if draw(st.booleans()):
        data["siting"] = {key: draw(_SCENARIO_VALUES)
                          for key in draw(st.lists(st.sampled_from(SITING_KEYS), max_size=3, unique=True))}
    return data


def toml_value(value) -> str:
    """A TOML literal for ``value`` (floats as TOML spells inf/nan)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == float("-inf") else repr(value))
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def scenario_toml(data: dict) -> str:
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in data.items() if k != "siting"]
    if "siting" in data:
        lines.append("[siting]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in data["siting"].items()]
    return "\n".join(lines) + "\n"


CLI_WORDS = ["run", "validate", "demo", "diff", "export", "sheet", "import", "--out", "--scenario", "--overwrite",
             "--memory-limit", "--layer", "--encoding", "--crs", "--by", "--basemap", "--no-sites", "-v", "-q",
             "pack.gpkg", "q.geojson", "missing.gpkg", "out", "strict", "baseline", "gbk", "EPSG:4545", "town",
             "1GiB", "x" * 300, "{{7*7}}", "重要!资料", "-", "--", "\u202e", "--help"]


def cli_args() -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(st.sampled_from(CLI_WORDS), st.text(max_size=8).filter(lambda s: "\x00" not in s)),
                    min_size=1, max_size=6)


def invoke_cli(main, args: list[str], cwd: str):
    """Run the click command ``main`` in-process in ``cwd`` (click's CliRunner), return its result."""
    import os

    from click.testing import CliRunner

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        os.chdir(old)
