"""Hostile inputs (issue 11): nothing in a planner's files can run code, crash, hang, eat memory
or leave half a run. Each test here failed on the code before the fix it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import plan_fixtures as fx
from browser import Chromium

REPO = Path(__file__).resolve().parents[1]

TEMPLATE_NAME = "{{7*7}}"
QUOTE_NAME = "石'\"场{%"


def wlgeo_cli(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "wlgeo.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, env=env, timeout=timeout)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


# --------------------------------------------------------------------------- 1. no template evaluation


def _hostile_pack(path: Path, marker: Path) -> None:
    """The hand-worked pack with hostile quarry names, scenario-independent."""
    layers = fx.layers()
    q = layers["quarries"]
    q.loc[q["quarry_id"] == "Q11", "name"] = TEMPLATE_NAME
    q.loc[q["quarry_id"] == "Q12", "name"] = "{{ cycler.__init__.__globals__.os.mkdir('%s') }}" % marker
    q.loc[q["quarry_id"] == "Q01", "name"] = QUOTE_NAME
    q.loc[q["quarry_id"] == "Q15", "owner"] = "{% for x in range(3) %}X{% endfor %}"
    layers["towns"].loc[0, "town"] = "{{8*8}}镇"
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "PWNED"
    pack = root / "pack.gpkg"
    _hostile_pack(pack, marker)
    scenario = root / "s.toml"
    scenario.write_text('name = "{{9*9}}"\n', encoding="utf-8")
    out = root / "run"
    r = wlgeo_cli("run", pack, "--scenario", scenario, "--out", out, "--no-sites")
    return root, marker, out, r


def test_template_names_run_nothing(hostile_run):
    root, marker, out, r = hostile_run
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    text = (out / "map.html").read_text(encoding="utf-8")
    assert TEMPLATE_NAME in text and "{{9*9}}" in text and "{{8*8}}镇" in text
    assert "{% for x in range(3) %}X{% endfor %}" in text
    assert "cycler.__init__.__globals__" in text


def _feature_texts(b: Chromium, quarry_id: str):
    return b.evaluate(
        f"""(() => {{
        for (const g of Object.values(window.wlgeoLayers)) for (const l of g.getLayers()) {{
            const p = l.feature.properties;
            if (p._s && p._s.startsWith({json.dumps(quarry_id + ' ')})) {{
                l.openPopup(); l.openTooltip();
                return [l.getPopup().getElement().textContent, l.getTooltip().getElement().textContent, p._s];
            }}
        }}
        return null; }})()"""
    )


def _search(b: Chromium, text: str) -> list[str]:
    return b.evaluate(
        f"""(() => {{ const i = document.querySelector('.wlgeo-search-input'); i.value = {json.dumps(text)};
        i.dispatchEvent(new Event('input'));
        return Array.from(document.querySelectorAll('.wlgeo-search-hit')).map(li => li.textContent); }})()"""
    )


def test_template_names_show_literally_in_the_browser(hostile_run):
    root, marker, out, r = hostile_run
    with Chromium() as b:
        b.open(out / "map.html")
        b.wait_for("window.wlgeoDrawn !== undefined")
        b.pump(0.3)
        popup, tooltip, search = _feature_texts(b, "Q11")
        assert TEMPLATE_NAME in popup and TEMPLATE_NAME in tooltip and search == "Q11 " + TEMPLATE_NAME
        assert "49" not in popup.replace("2035", "")
        popup, tooltip, _ = _feature_texts(b, "Q01")
        assert QUOTE_NAME in popup and QUOTE_NAME in tooltip
        assert _search(b, "7*7") == ["Q11 " + TEMPLATE_NAME]
        title = b.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert "{{9*9}}" in title and "81" not in title
        assert b.page_errors == [] and b.console_errors == []
    assert not marker.exists()


def test_diff_map_shows_template_names_literally(tmp_path):
    import wlgeo
    from wlgeo.compare import diff_map
    from wlgeo.io.pack import LayerPack

    layers = fx.layers()
    q = layers["quarries"]
    marker = tmp_path / "PWNED"
    q.loc[q["quarry_id"] == "Q04", "name"] = TEMPLATE_NAME  # Q04 changes class below
    q.loc[q["quarry_id"] == "Q12", "name"] = "{{ cycler.__init__.__globals__.os.mkdir('%s') }}" % marker
    pack = LayerPack(layers)
    a = wlgeo.plan(pack, wlgeo.Scenario(), sites=False)
    b = wlgeo.plan(pack, wlgeo.Scenario().replace(name="{{6*6}}", blast_distance_m=100), sites=False)
    path = tmp_path / "diff.html"
    path.write_text(diff_map(a, b, pack).get_root().render(), encoding="utf-8")
    assert not marker.exists()
    with Chromium() as br:
        br.open(path)
        br.wait_for("window.wlgeoDrawn !== undefined")
        popup, tooltip, _ = _feature_texts(br, "Q04")
        assert TEMPLATE_NAME in popup and TEMPLATE_NAME in tooltip
        assert "{{6*6}}" in br.evaluate("document.querySelector('.wlgeo-title').textContent")
        assert br.page_errors == []


def test_tianditu_key_is_not_template_source(monkeypatch):
    from wlgeo.errors import MapError
    from wlgeo.maps import folium_map
    import wlgeo
    from wlgeo.io.pack import LayerPack

    result = wlgeo.plan(LayerPack({"quarries": fx.quarries()}), wlgeo.Scenario(), sites=False)
    with pytest.raises(MapError, match="letters and digits"):
        folium_map(result, None, basemap="tianditu", tianditu_key="{{7*7}}")
