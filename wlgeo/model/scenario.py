"""Scenarios: the rules and caps of a plan, validated, loadable from TOML, with shipped presets.

A scenario is a frozen :class:`Scenario` (with a nested :class:`SitingParams`). Every number a
decision depends on lives here, never in the code; ``DOMAIN.md`` §1 gives the source of each.
TOML files mirror the dataclasses: top-level keys are :class:`Scenario` fields, the ``[siting]``
table holds :class:`SitingParams`, with sub-tables ``[siting.weights]``,
``[siting.road_buffer_m]`` and ``[siting.saturation_m]``, and the ``[visibility]`` table holds
:class:`VisibilityParams`::

    name = "review-2025"
    blast_distance_m = 500
    trunk_kinds = ["expressway", "railway", "national", "provincial"]
    max_quarries = "none"          # TOML has no null: "none" means no cap
    [siting]
    wujiang_buffer_m = 5000
    [siting.weights]
    roads = 0.4
    parks = 0.4
    ports = 0.2

Unknown keys, wrong types and impossible values are refused with a :class:`~wlgeo.ScenarioError`
naming the file and the key path (``siting.weights.road``) and the allowed keys or values.
Weights that do not sum to 1 are normalised and the fact is recorded in ``Scenario.notes``.

Shipped presets live in ``wlgeo/scenarios/*.toml``: ``baseline`` (the DESIGN defaults) and
``strict`` (closer to Chongqing practice).
"""

from __future__ import annotations

import datetime as _dt
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from wlgeo.model.errors import ReadError, ScenarioError
from wlgeo.model.schema import PROTECTED_KINDS, ROAD_KINDS

__all__ = [
    "Scenario",
    "SitingParams",
    "VisibilityParams",
    "SELECTIONS",
    "load_scenario",
    "list_presets",
    "RED_LINE_ACTIONS",
    "SITING_FACTORS",
    "DISTANCE_FACTORS",
    "MAX_DISTANCE_M",
    "MAX_AREA_M2",
    "MAX_CAPACITY",
]

RED_LINE_ACTIONS = ("close", "expire")
#: How new sites are chosen among the candidate blocks (``siting.selection``).
SELECTIONS = ("optimal", "greedy")
#: Factors of the new-site suitability score (keys of ``siting.weights``).
SITING_FACTORS = ("roads", "parks", "ports", "slope")
#: Distance factors (keys of ``siting.saturation_m``).
DISTANCE_FACTORS = ("roads", "parks", "ports")


class _FrozenDict(dict):
    """A read-only dict: hashable, picklable, deep-copyable, ``dataclasses.asdict``-friendly."""

    __slots__ = ()

    def _readonly(self, *args, **kwargs):
        raise TypeError("scenario mappings are read-only; use Scenario.replace()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self):
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return f"{dict(self)!r}"


def _default_road_buffer() -> Mapping[str, float]:
    # 公路安全保护条例 art. 17 (100 m national/provincial/county, 50 m township);
    # expressways are national-class roads (100 m); 铁路安全管理条例 art. 34 (1000 m railways).
    return _FrozenDict(
        expressway=100.0, railway=1000.0, national=100.0, provincial=100.0, county=100.0, township=50.0
    )


def _default_weights() -> Mapping[str, float]:
    return _FrozenDict(roads=0.3, parks=0.3, ports=0.2, slope=0.2)


def _default_saturation() -> Mapping[str, float]:
    return _FrozenDict(roads=5000.0, parks=20000.0, ports=30000.0)


@dataclass(frozen=True)
class SitingParams:
    """Parameters of new-site selection (TOML table ``[siting]``).

    Attributes
    ----------
    grid_resolution_m : float
        Cell size of the suitability grid, m (1–1000). [default] 30 m, the usual public DEM grid.
    max_slope_deg : float
        Steepest mean slope of a candidate cell, degrees (0–90]. [default] 25°, the slope limit
        of 国土空间 development suitability practice (DESIGN §4).
    min_site_area_m2 : float
        Smallest contiguous block of suitable cells that makes a site, m² (0 – :data:`MAX_AREA_M2`). [default] 10 ha.
    site_spacing_m : float
        Least distance between new sites and from retained quarries, m (0 – :data:`MAX_DISTANCE_M`). [default] 1000 m,
        the same figure as ``merge_distance_m`` so new sites would not be consolidated at once.
    max_new_sites : int
        At most this many new sites (0–10 000). [default] 5.
    new_site_capacity : float
        Planned capacity of one new site, 万吨/年 (> 0, ≤ :data:`MAX_CAPACITY`). [default] 100, twice ``min_capacity``.
    wujiang_buffer_m : float
        No new site within this distance of a main river, m (0 – :data:`MAX_DISTANCE_M`). Baseline 0; Chongqing controls
        the Wujiang mainstream shore 5 km (DOMAIN §1, 三区两线), used by the ``strict`` preset.
    road_buffer_m : Mapping[str, float]
        Exclusion buffer per road kind, m (0 – :data:`MAX_DISTANCE_M`); keys from ``wlgeo.model.schema.ROAD_KINDS``. Kinds left
        out of a TOML table keep their default: national/provincial/county 100, township 50
        [law: 公路安全保护条例 art. 17]; expressway 100; railway 1000 [law: 铁路安全管理条例 art. 34].
    weights : Mapping[str, float]
        Weight of each suitability factor (≥ 0, not all 0); keys from :data:`SITING_FACTORS`.
        A TOML table replaces the whole default table (factors left out weigh 0); weights not
        summing to 1 are normalised, with a note. [default] roads .3, parks .3, ports .2,
        slope .2 (公转铁、公转水 logistics, DOMAIN §1).
    saturation_m : Mapping[str, float]
        Distance at which a distance factor's score reaches 0, m (> 0, ≤ :data:`MAX_DISTANCE_M`); keys from
        :data:`DISTANCE_FACTORS`; kinds left out keep their default. [default] roads 5 km,
        parks 20 km, ports 30 km (about the haul radius of aggregates by truck in the district).
    selection : {"optimal", "greedy"}
        How sites are chosen among the candidate blocks. ``"optimal"`` [default] solves an
        integer programme (:mod:`wlgeo.engine.siting.optimal`, HiGHS through ``scipy.optimize.milp``):
        the set of blocks with the largest total score under the spacing rule and the caps, never
        worse than greedy; ``"greedy"`` takes the best block, blocks its neighbourhood, repeats.
    time_limit_s : float
        Time limit of the optimal selection, s (> 0). [default] 60. When it runs out the best set
        found is kept and its optimality gap is reported.
    """

    grid_resolution_m: float = 30.0
    max_slope_deg: float = 25.0
    min_site_area_m2: float = 100_000.0
    site_spacing_m: float = 1000.0
    max_new_sites: int = 5
    new_site_capacity: float = 100.0
    wujiang_buffer_m: float = 0.0
    road_buffer_m: Mapping[str, float] = field(default_factory=_default_road_buffer)
    weights: Mapping[str, float] = field(default_factory=_default_weights)
    saturation_m: Mapping[str, float] = field(default_factory=_default_saturation)
    selection: Literal["optimal", "greedy"] = "optimal"
    time_limit_s: float = 60.0
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        notes = list(self.notes)
        for spec in _SITING_SCALARS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name), f"siting.{spec.name}"))
        road = _check_mapping(self.road_buffer_m, "siting.road_buffer_m", ROAD_KINDS, minimum=0.0)
        object.__setattr__(self, "road_buffer_m", _FrozenDict({**_default_road_buffer(), **road}))
        sat = _check_mapping(self.saturation_m, "siting.saturation_m", DISTANCE_FACTORS, minimum=0.0, exclusive=True)
        object.__setattr__(self, "saturation_m", _FrozenDict({**_default_saturation(), **sat}))
        weights = _check_mapping(self.weights, "siting.weights", SITING_FACTORS, minimum=0.0)
        full = {name: weights.get(name, 0.0) for name in SITING_FACTORS}
        total = sum(full.values())
        if total <= 0:
            raise ScenarioError(
                f"weights are all 0; give at least one positive weight among {', '.join(SITING_FACTORS)}",
                field="siting.weights",
            )
        if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9):
            full = {name: value / total for name, value in full.items()}
            note = f"siting.weights summed to {total:g}, normalised to 1: " + ", ".join(
                f"{k}={v:.4g}" for k, v in full.items()
            )
            if note not in notes:
                notes.append(note)
        object.__setattr__(self, "weights", _FrozenDict(full))
        object.__setattr__(self, "notes", tuple(notes))

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the parameters (JSON- and TOML-friendly); notes are not included."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "notes":
                continue
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out


@dataclass(frozen=True)
class VisibilityParams:
    """The 三区两线 visible range judged by line of sight on the DEM (TOML table ``[visibility]``).

    When ``enabled``, a quarry is in the visible range of a trunk line or a main river when some
    part of it (a DEM cell centre inside it or a vertex, ``target_height_m`` above the ground)
    can be seen from an observer on that line (``observer_height_m`` above the ground, observers
    at most one DEM cell apart) within ``max_distance_m``; this replaces the fixed corridors
    ``trunk_line_m`` / ``main_river_m`` of the expire rule and of the new-site mask
    (:mod:`wlgeo.engine.visibility`). The rule's words are 直观可视范围; one provincial authority defines
    it as no mountain or landform blocking the view (DOMAIN §1, 三区两线).

    Attributes
    ----------
    enabled : bool
        [default] false: the fixed corridors apply and plans do not change.
    max_distance_m : float
        Farthest sight line, m (> 0). [default] 3000 m: judgement; at 3 km a 20 m quarry face
        subtends about 0.4°, still plain to the eye; no national rule gives a distance.
    observer_height_m : float
        Eye height above the ground of an observer on the line, m (≥ 0). [default] 1.6 m.
    target_height_m : float
        Height above the ground of the quarry face that must not be seen, m (≥ 0).
        [default] 20 m (a bench or two of a hillside quarry face).
    earth_curvature : bool
        Lower far terrain and targets by the earth's curvature less refraction
        (``d²·(1 − 0.13) / 2R``, as GIS viewshed tools do): 0.6 m at 3 km. [default] true.
    """

    enabled: bool = False
    max_distance_m: float = 3000.0
    observer_height_m: float = 1.6
    target_height_m: float = 20.0
    earth_curvature: bool = True

    def __post_init__(self) -> None:
        for spec in _VISIBILITY_SCALARS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name), f"visibility.{spec.name}"))

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the parameters."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Scenario:
    """The rules and caps of a plan (DESIGN §4). Build with :meth:`from_toml`, :meth:`preset`,
    :func:`load_scenario` or directly; every construction is validated.

    Attributes
    ----------
    name, description : str
        Label of the scenario (non-empty) and free text, for manifests and reports.
    title_zh : str
        Chinese title of the scenario for map and sheet titles (``基准方案``); empty = use ``name``.
        A label only: not part of equality (two scenarios with the same rules plan alike).
    min_overlap_m2 : float
        An overlap with the red line, farmland or a closing protected area counts when larger
        than this, m² (≥ 0). [default] 1 m² ("any overlap", DOMAIN §1).
    red_line_action : {"close", "expire"}
        What a red-line overlap means: close at once (关闭退出) or exit at licence end (到期退出),
        a local choice [law: 自然资发〔2022〕142号 bans the activity, not the timing].
    closing_protected_kinds : tuple of str
        Protected-area kinds whose overlap closes a quarry; from ``wlgeo.model.schema.PROTECTED_KINDS``.
        [default] every kind [law: 风景名胜区条例 art. 26; Chongqing closed all rights in reserves].
    blast_distance_m : float
        A settlement within this distance of a quarry closes it, m (0 – :data:`MAX_DISTANCE_M`). [law: 安监总局令第39号
        art. 12, 300 m from a small quarry's boundary; GB 6722-2014 flyrock 200–300 m].
    trunk_kinds : tuple of str
        Road kinds that are trunk lines for the 三区两线 corridor, from ``ROAD_KINDS``.
        [default] expressway, railway, national (one province's 1000 m practice, DOMAIN §1).
    trunk_line_m : float
        Corridor half-width along trunk lines, m (0 – :data:`MAX_DISTANCE_M`). [default] 1000 m (DOMAIN §1; also the
        railway consent distance of 铁路安全管理条例 art. 34).
    main_river_m : float
        Corridor half-width along main rivers, m (0 – :data:`MAX_DISTANCE_M`). [default] 1000 m (三区两线, DOMAIN §1).
    min_capacity : float
        Quarries below this capacity are small, 万吨/年 (≥ 0). [default] 50 (DOMAIN §1 "Scale";
        also the 安监总局令第39号 small-quarry bound).
    merge_distance_m : float
        Surviving quarries within this distance, one of them small, are consolidated, m (0 – :data:`MAX_DISTANCE_M`).
        [default] 1000 m (DOMAIN §1 "Consolidation").
    horizon : datetime.date
        End of the plan period; licences ending before it are reported. [default] 2028-12-31,
        the seed's 2028 target year (DOMAIN §5).
    max_quarries : int or None
        Cap on the number of quarries after the plan (≥ 0); ``None`` (TOML ``"none"``) = no cap.
        [default] 50: Chongqing's 2018 limestone plan capped city-wide 碎石 mines at 470;
        neighbouring Nanchuan caps at 42; Wulong has 87 deposits in its 2021–2025 mineral plan
        and is one of two named south-east limestone bases (DOMAIN §1 "District caps"). The
        ``strict`` preset uses 20. Confirm locally.
    max_total_capacity : float or None
        Cap on the total capacity after the plan, 万吨/年 (≥ 0); ``None`` = no cap. [default]
        6000: ≈ 29 % of the city-wide 21 000 万吨/年 of the 2018 plan for a named base district
        (DOMAIN §1). The ``strict`` preset uses 2000. Confirm locally.
    siting : SitingParams
        New-site parameters (TOML table ``[siting]``).
    visibility : VisibilityParams
        The line-of-sight test of the 三区两线 visible range (TOML table ``[visibility]``); off by
        default.
    city_caps : mapping or None
        City-wide totals for a city pack of several districts (TOML table ``[city_caps]`` with
        ``max_quarries`` and/or ``max_total_capacity``, same meaning as the district caps, which
        then apply to each district); ``None`` = no city totals.
    notes : tuple of str
        What validation normalised (e.g. weights rescaled); not part of equality.
    """

    name: str = "baseline"
    description: str = ""
    title_zh: str = field(default="", compare=False)  # a label: scenarios differing only in it plan alike
    min_overlap_m2: float = 1.0
    red_line_action: Literal["close", "expire"] = "close"
    closing_protected_kinds: tuple[str, ...] = PROTECTED_KINDS
    blast_distance_m: float = 300.0
    trunk_kinds: tuple[str, ...] = ("expressway", "railway", "national")
    trunk_line_m: float = 1000.0
    main_river_m: float = 1000.0
    min_capacity: float = 50.0
    merge_distance_m: float = 1000.0
    horizon: _dt.date = _dt.date(2028, 12, 31)
    max_quarries: int | None = 50
    max_total_capacity: float | None = 6000.0
    siting: SitingParams = field(default_factory=SitingParams)
    visibility: VisibilityParams = field(default_factory=VisibilityParams)
    city_caps: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        for spec in _SCENARIO_SCALARS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name), spec.name))
        visibility = self.visibility
        if isinstance(visibility, Mapping):
            visibility = _visibility_from_mapping(visibility)
        elif not isinstance(visibility, VisibilityParams):
            raise ScenarioError(f"must be a table of visibility parameters, got {_type_name(visibility)}",
                                field="visibility")
        object.__setattr__(self, "visibility", visibility)
        siting = self.siting
        if isinstance(siting, Mapping):
            siting = _siting_from_mapping(siting)
        elif not isinstance(siting, SitingParams):
            raise ScenarioError(f"must be a table of siting parameters, got {_type_name(siting)}", field="siting")
        object.__setattr__(self, "siting", siting)
        object.__setattr__(self, "city_caps", _city_caps(self.city_caps))
        notes = list(self.notes) + [n for n in siting.notes if n not in self.notes]
        object.__setattr__(self, "notes", tuple(notes))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | PathLike | None = None) -> Scenario:
        """Build a scenario from a mapping shaped like the TOML file.

        Parameters
        ----------
        data : mapping of top-level keys (and a ``siting`` sub-mapping).
        source : file the mapping came from, named in error messages.

        Raises
        ------
        ScenarioError
            Unknown key, wrong type or impossible value; the message names ``source``, the key
            path and the allowed keys or values.

        Examples
        --------
        >>> Scenario.from_dict({"name": "wide", "blast_distance_m": 500}).blast_distance_m
        500.0
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a scenario is a table of parameters, got {_type_name(data)}", path=source)
        _refuse_unknown(data, _SCENARIO_KEYS, "", source)
        kwargs = dict(data)
        try:
            if "siting" in kwargs:
                if not isinstance(kwargs["siting"], Mapping):
                    raise ScenarioError(
                        f"must be a table of siting parameters, got {_type_name(kwargs['siting'])}", field="siting"
                    )
                kwargs["siting"] = _siting_from_mapping(kwargs["siting"])
            if "visibility" in kwargs:
                if not isinstance(kwargs["visibility"], Mapping):
                    raise ScenarioError(
                        f"must be a table of visibility parameters, got {_type_name(kwargs['visibility'])}",
                        field="visibility",
                    )
                kwargs["visibility"] = _visibility_from_mapping(kwargs["visibility"])
            return cls(**kwargs)
        except ScenarioError as err:
            if source is None or err.path is not None:
                raise
            raise ScenarioError(err.message, path=source, field=err.field) from None

    @classmethod
    def from_toml(cls, path: str | PathLike) -> Scenario:
        """Read and validate a scenario TOML file; ``name`` defaults to the file's stem.

        Raises
        ------
        ReadError
            The file is missing, a directory or not readable.
        ScenarioError
            The file is not valid UTF-8 TOML, or holds an unknown key, a wrong type or an
            impossible value (the message names the file and the key path).
        """
        path = Path(path)
        if not path.exists():
            raise ReadError("no such scenario file", path=path)
        if path.is_dir():
            raise ReadError("is a directory; give a scenario .toml file", path=path)
        if not path.is_file():
            raise ReadError("is not a regular file (a device, pipe or socket); give a scenario .toml file", path=path)
        if path.stat().st_size > MAX_TOML_BYTES:
            raise ScenarioError(f"is {path.stat().st_size:,} bytes; a scenario file is at most {MAX_TOML_BYTES:,}",
                                path=path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.loads(handle.read().decode("utf-8-sig"))  # Notepad writes a BOM
        except tomllib.TOMLDecodeError as err:
            raise ScenarioError(f"is not valid TOML: {err}", path=path) from err
        except UnicodeDecodeError as err:
            raise ScenarioError("a scenario file must be UTF-8 text", path=path) from err
        except OSError as err:
            raise ReadError(f"cannot be read: {err.strerror or err}", path=path) from err
        data.setdefault("name", path.stem)
        return cls.from_dict(data, source=path)

    @classmethod
    def preset(cls, name: str) -> Scenario:
        """A shipped preset (``wlgeo/scenarios/<name>.toml``); see :func:`list_presets`."""
        presets = list_presets()
        if name not in presets:
            raise ScenarioError(f"unknown preset {name!r}; presets are: {', '.join(presets)}")
        resource = resources.files("wlgeo").joinpath("scenarios", f"{name}.toml")
        with resources.as_file(resource) as path:
            return cls.from_toml(path)

    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with ``changes`` applied.

        Keys are field names; nested siting parameters may be given as ``siting={...}`` (merged
        into the current siting parameters) or with a double underscore or dotted path through
        ``**{"siting.max_slope_deg": 20}``. Mapping parameters given this way replace the table
        as in TOML.

        Examples
        --------
        >>> Scenario().replace(blast_distance_m=500, **{"siting.max_slope_deg": 20}).siting.max_slope_deg
        20.0
        """
        data = self.to_dict()
        for key, value in changes.items():
            parts = key.replace("__", ".").split(".")
            if parts[0] in ("siting", "visibility") and len(parts) == 1 and isinstance(value, Mapping):
                data[parts[0]].update(value)
                continue
            target = data
            for part in parts[:-1]:
                if not isinstance(target.get(part), dict):
                    raise ScenarioError(f"unknown key; allowed: {', '.join(_SCENARIO_KEYS)}", field=key)
                target = target[part]
            target[parts[-1]] = value
        result = Scenario.from_dict(data)
        notes = list(self.notes) + [n for n in result.notes if n not in self.notes]
        object.__setattr__(result, "notes", tuple(notes))
        return result

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` for manifests and GeoPackage metadata (JSON-friendly; ``horizon`` as an
        ISO date, caps ``None`` when uncapped); ``Scenario.from_dict(s.to_dict()) == s``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "notes":
                continue
            value = getattr(self, f.name)
            if f.name == "city_caps":
                if value is None:
                    continue  # absent from the TOML unless set: district runs' manifests unchanged
                value = dict(value)
            elif f.name in ("siting", "visibility"):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, _dt.date):
                value = value.isoformat()
            out[f.name] = value
        return out


# ---------------------------------------------------------------------- validation helpers
def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{type(value).__name__} ({value!r})"


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"must be a number, got {_type_name(value)}", field=key)
    value = float(value)
    if not math.isfinite(value):
        raise ScenarioError(f"must be a finite number, got {value}", field=key)
    return value


MAX_DISTANCE_M = 100_000.0
"""Largest distance a scenario accepts, m: 100 km, wider than any district of Chongqing (Wulong
spans 83 km × 71 km). A larger figure is a unit slip (mm, or a typo), and would make every buffer
cover the whole district."""
MAX_AREA_M2 = 1e10
"""Largest area a scenario accepts, m²: 10 000 km², over three times Wulong's 2 901 km²."""
MAX_CAPACITY = 1_000_000.0
"""Largest capacity figure a scenario accepts, 万吨/年 (10 Gt a year, about half of China's yearly
aggregate output; Chongqing's 2018 city-wide cap was 21 000)."""
MAX_COUNT = 1_000_000
"""Largest quarry-count cap a scenario accepts (Chongqing's 2018 city-wide cap was 470)."""
MAX_TOML_BYTES = 1 << 20
"""Largest scenario or catalog file read, bytes (a real one is a few hundred)."""
MIN_GRID_M, MAX_GRID_M = 1.0, 1000.0
"""Allowed suitability-grid cell sizes, m: finer than 1 m is beyond any DEM a bureau holds;
coarser than 1 km cannot place a 10 ha site."""


def _range_text(minimum, exclusive, maximum, unit: str) -> str:
    low = "" if minimum is None else f"{'>' if exclusive else '≥'} {minimum:g}{unit}"
    high = "" if maximum is None else f"≤ {maximum:g}{unit}"
    return " and ".join(t for t in (low, high) if t)


def _bounded(value: float, key: str, unit: str, minimum=None, exclusive=False, maximum=None):
    both = minimum is not None and maximum is not None
    allowed = f" (allowed: {_range_text(minimum, exclusive, maximum, unit)})" if both else ""
    if minimum is not None and (value < minimum or (exclusive and value == minimum)):
        raise ScenarioError(f"must be {_range_text(minimum, exclusive, None, unit)}, got {value:g}{allowed}", field=key)
    if maximum is not None and value > maximum:
        raise ScenarioError(f"must be {_range_text(None, False, maximum, unit)}, got {value:g}{allowed}", field=key)
    return value


@dataclass(frozen=True)
class _Spec:
    """How one scalar parameter is checked."""

    name: str
    kind: str  # float, int, str, enum, kinds, date
    unit: str = ""
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    optional: bool = False  # None (TOML "none") allowed

    def check(self, value: object, key: str) -> object:
        if self.optional and (value is None or (isinstance(value, str) and value.strip().lower() == "none")):
            return None
        if self.kind == "float":
            return _bounded(_number(value, key), key, self.unit, self.minimum, self.exclusive, self.maximum)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    hint = ' or "none" for no cap' if self.optional else ""
                    raise ScenarioError(f"must be a whole number{hint}, got {_type_name(value)}", field=key)
            return int(_bounded(value, key, self.unit, self.minimum, self.exclusive, self.maximum))
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ScenarioError(f"must be true or false, got {_type_name(value)}", field=key)
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise ScenarioError(f"must be a string, got {_type_name(value)}", field=key)
            if self.minimum and not value.strip():
                raise ScenarioError("must not be empty", field=key)
            return value
        if self.kind == "enum":
            if not isinstance(value, str) or value not in self.allowed:
                raise ScenarioError(
                    f"must be one of {', '.join(repr(a) for a in self.allowed)}, got {_type_name(value)}", field=key
                )
            return value
        if self.kind == "kinds":
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ScenarioError(
                    f"must be a list of kinds among {', '.join(self.allowed)}, got {_type_name(value)}", field=key
                )
            out: list[str] = []
            for i, item in enumerate(value):
                if not isinstance(item, str) or item not in self.allowed:
                    raise ScenarioError(
                        f"unknown kind {item!r}; allowed: {', '.join(self.allowed)}", field=f"{key}[{i}]"
                    )
                if item not in out:
                    out.append(item)
            return tuple(out)
        if self.kind == "date":
            if isinstance(value, _dt.datetime):
                raise ScenarioError(f"must be a date without a time, e.g. 2028-12-31, got {value}", field=key)
            if isinstance(value, _dt.date):
                return value
            if isinstance(value, str):
                try:
                    return _dt.date.fromisoformat(value.strip())
                except ValueError:
                    pass
            raise ScenarioError(f"must be a date such as 2028-12-31, got {_type_name(value)}", field=key)
        raise AssertionError(self.kind)  # pragma: no cover


_SCENARIO_SCALARS = (
    _Spec("name", "str", minimum=1),
    _Spec("description", "str"),
    _Spec("title_zh", "str"),
    _Spec("min_overlap_m2", "float", " m²", minimum=0.0, maximum=MAX_AREA_M2),
    _Spec("red_line_action", "enum", allowed=RED_LINE_ACTIONS),
    _Spec("closing_protected_kinds", "kinds", allowed=PROTECTED_KINDS),
    _Spec("blast_distance_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("trunk_kinds", "kinds", allowed=ROAD_KINDS),
    _Spec("trunk_line_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("main_river_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("min_capacity", "float", " 万吨/年", minimum=0.0, maximum=MAX_CAPACITY),
    _Spec("merge_distance_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("horizon", "date"),
    _Spec("max_quarries", "int", minimum=0, maximum=MAX_COUNT, optional=True),
    _Spec("max_total_capacity", "float", " 万吨/年", minimum=0.0, maximum=MAX_CAPACITY, optional=True),
)
_SITING_SCALARS = (
    _Spec("grid_resolution_m", "float", " m", minimum=MIN_GRID_M, maximum=MAX_GRID_M),
    _Spec("max_slope_deg", "float", "°", minimum=0.0, exclusive=True, maximum=90.0),
    _Spec("min_site_area_m2", "float", " m²", minimum=0.0, maximum=MAX_AREA_M2),
    _Spec("site_spacing_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("max_new_sites", "int", minimum=0, maximum=10_000),
    _Spec("new_site_capacity", "float", " 万吨/年", minimum=0.0, exclusive=True, maximum=MAX_CAPACITY),
    _Spec("wujiang_buffer_m", "float", " m", minimum=0.0, maximum=MAX_DISTANCE_M),
    _Spec("selection", "enum", allowed=SELECTIONS),
    _Spec("time_limit_s", "float", " s", minimum=0.0, exclusive=True, maximum=86_400.0),
)
_VISIBILITY_SCALARS = (
    _Spec("enabled", "bool"),
    _Spec("max_distance_m", "float", " m", minimum=0.0, exclusive=True, maximum=MAX_DISTANCE_M),
    _Spec("observer_height_m", "float", " m", minimum=0.0, maximum=1000.0),
    _Spec("target_height_m", "float", " m", minimum=0.0, maximum=1000.0),
    _Spec("earth_curvature", "bool"),
)
_SCENARIO_KEYS = tuple(f.name for f in fields(Scenario) if f.name != "notes")
_SITING_KEYS = tuple(f.name for f in fields(SitingParams) if f.name != "notes")
_VISIBILITY_KEYS = tuple(f.name for f in fields(VisibilityParams))


_CITY_CAP_SPECS = (
    _Spec("max_quarries", "int", minimum=0, optional=True),
    _Spec("max_total_capacity", "float", " 万吨/年", minimum=0.0, optional=True),
)


def _city_caps(value: object) -> Mapping[str, Any] | None:
    """``[city_caps]``: ``max_quarries`` and ``max_total_capacity`` (each optional, ``"none"`` = no cap)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ScenarioError(f"must be a table with max_quarries / max_total_capacity, got {_type_name(value)}",
                            field="city_caps")
    allowed = tuple(spec.name for spec in _CITY_CAP_SPECS)
    _refuse_unknown(value, allowed, "city_caps.", None)
    return _FrozenDict({spec.name: spec.check(value.get(spec.name), f"city_caps.{spec.name}") for spec in _CITY_CAP_SPECS})


def _refuse_unknown(data: Mapping, allowed: tuple[str, ...], prefix: str, source) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"unknown key; allowed keys: {', '.join(allowed)}", path=source, field=f"{prefix}{key}")


def _check_mapping(value: object, key: str, allowed: tuple[str, ...], *, minimum: float, exclusive=False) -> dict:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"must be a table of {', '.join(allowed)} → number, got {_type_name(value)}", field=key)
    _refuse_unknown(value, allowed, f"{key}.", None)
    metres = key.endswith("_m")
    return {k: _bounded(_number(v, f"{key}.{k}"), f"{key}.{k}", " m" if metres else "", minimum, exclusive,
                        MAX_DISTANCE_M if metres else None)
            for k, v in value.items()}


def _siting_from_mapping(data: Mapping) -> SitingParams:
    _refuse_unknown(data, _SITING_KEYS, "siting.", None)
    return SitingParams(**data)


def _visibility_from_mapping(data: Mapping) -> VisibilityParams:
    _refuse_unknown(data, _VISIBILITY_KEYS, "visibility.", None)
    return VisibilityParams(**data)


# ---------------------------------------------------------------------- presets and loading
def list_presets() -> list[str]:
    """Names of the shipped scenario presets (``wlgeo/scenarios/*.toml``), sorted."""
    folder = resources.files("wlgeo").joinpath("scenarios")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str | PathLike | Scenario | None = None) -> Scenario:
    """A scenario from a preset name, a TOML path, or a :class:`Scenario` (returned as is).

    ``None`` gives the ``baseline`` preset. A string ending in ``.toml`` or naming an existing
    file is read as a file; otherwise it must be a preset name.

    Examples
    --------
    >>> load_scenario("strict").siting.wujiang_buffer_m
    5000.0
    """
    if name_or_path is None:
        return Scenario.preset("baseline")
    if isinstance(name_or_path, Scenario):
        return name_or_path
    name = str(name_or_path)
    presets = list_presets()
    if (isinstance(name_or_path, PathLike) or name.lower().endswith(".toml") or Path(name).is_file()
            or (name not in presets and Path(name).is_dir())):
        return Scenario.from_toml(name_or_path)
    if name not in presets:
        raise ScenarioError(
            f"no preset and no file named {name!r}; presets are: {', '.join(presets)} (or give a .toml path)"
        )
    return Scenario.preset(name)
