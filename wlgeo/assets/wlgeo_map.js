/* wlgeo map helpers: GeoJSON layers with pre-escaped popups, legend, search, measure, fullscreen.
 * Written for wlgeo (MIT). Needs Leaflet 1.9. Every string that comes from data is either
 * already HTML-escaped on the Python side (popups, tooltips) or set with textContent (search).
 */
(function () {
  "use strict";
  var W = (window.wlgeo = window.wlgeo || {});
  window.wlgeoCounts = window.wlgeoCounts || {};
  window.wlgeoLayers = window.wlgeoLayers || {};
  W.index = W.index || [];

  /* The style of one feature: the layer's style, overridden by its ``styleBy`` entry if any. */
  function styleFor(spec, feature) {
    var s = spec.style;
    if (spec.styleBy) {
      var v = feature.properties ? feature.properties[spec.styleBy.field] : null;
      var over = spec.styleBy.styles[v];
      if (over) {
        s = L.extend({}, s, over);
      }
    }
    return s;
  }

  /* A quarry popup from the layer's escaped heads and the feature's escaped values. */
  function popupHtml(spec, p) {
    var h = '<div class="wlgeo-popup"><h4>' + p._h + "</h4><table>";
    for (var i = 0; i < spec.rows.length; i++) {
      h += "<tr><th>" + spec.rows[i] + "</th><td>" + p._v[i] + "</td></tr>";
    }
    h += "</table>" + spec.after + spec.reasons + "<ul>";
    h += p._r && p._r.length ? "<li>" + p._r.join("</li><li>") + "</li>" : "<li>\u2014</li>";
    return h + "</ul></div>";
  }

  /* openPopup / openTooltip of a feature that has a twin (its polygon or its marker): when the
   * feature itself is not on the map at this zoom, its twin opens the SAME popup/tooltip object. */
  function openViaTwin(kind) {
    var own = L.Layer.prototype["open" + kind];
    return function (latlng) {
      var twin = this._wlgeoTwin;
      if (!this._map && twin && twin._map) {
        own.call(twin, twin.getLatLng ? undefined : this.getLatLng());
        return this;
      }
      return own.call(this, latlng);
    };
  }
  var openPopupViaTwin = openViaTwin("Popup");
  var openTooltipViaTwin = openViaTwin("Tooltip");

  /* Give each polygon of ``group`` a circle marker at its representative point ``_m`` (computed in
   * Python) sharing its feature, popup and tooltip; below ``spec.marker.below`` the markers are
   * drawn instead of the polygons. The group stays the one layer of the layer switcher: adding or
   * removing it adds or removes whichever of the two is shown. */
  function addMarkers(group, spec) {
    var ms = spec.marker;
    var markers = [];
    group.eachLayer(function (poly) {
      var f = poly.feature;
      var at = f.properties && f.properties._m;
      if (!at) {
        return;
      }
      var mk = L.circleMarker([at[1], at[0]], styleFor({ style: ms.style, styleBy: ms.styleBy }, f));
      mk.feature = f;
      mk._wlgeoTwin = poly;
      poly._wlgeoTwin = mk;
      if (poly.getPopup()) {
        mk.bindPopup(poly.getPopup());
      }
      if (poly.getTooltip()) {
        mk.bindTooltip(poly.getTooltip());
      }
      poly.openPopup = mk.openPopup = openPopupViaTwin;
      poly.openTooltip = mk.openTooltip = openTooltipViaTwin;
      markers.push(mk);
    });
    var shown = null; /* "markers" | "polygons" | null (group not on the map) */
    function sync() {
      var map = group._map;
      var want = map.getZoom() < ms.below ? "markers" : "polygons";
      if (want === shown) {
        return;
      }
      var pop = map._popup && map.hasLayer(map._popup) ? map._popup : null;
      var source = pop ? pop._source : null;
      var at = pop ? pop.getLatLng() : null;
      var on = want === "markers" ? markers : group.getLayers();
      var off = want === "markers" ? group.getLayers() : markers;
      off.forEach(function (l) {
        map.removeLayer(l);
      });
      on.forEach(function (l) {
        map.addLayer(l);
      });
      shown = want;
      /* a popup open on a feature that was just swapped out reopens on its twin */
      if (source && source._wlgeoTwin && source._wlgeoTwin._map && !map.hasLayer(pop)) {
        source._wlgeoTwin.openPopup(at);
      }
    }
    group.onAdd = function (map) {
      shown = null;
      map.on("zoomend", sync);
      sync();
    };
    group.onRemove = function (map) {
      map.off("zoomend", sync);
      group.getLayers().concat(markers).forEach(function (l) {
        map.removeLayer(l);
      });
      shown = null;
    };
    group.wlgeoMarkers = markers;
    group.wlgeoShown = function () {
      return shown;
    };
    group.wlgeoSync = function () {
      if (group._map) {
        sync();
      }
    };
  }
  W.addMarkers = addMarkers;

  /* Build one L.geoJSON layer from a spec {key, name, style, styleBy, radius, marker, data}. */
  W.layer = function (map, spec) {
    var group = L.geoJSON(spec.data, {
      style: function (f) {
        return styleFor(spec, f);
      },
      pointToLayer: function (f, latlng) {
        var s = L.extend({ radius: spec.radius || 5 }, styleFor(spec, f));
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, layer) {
        var p = f.properties || {};
        if (p._p) {
          layer.bindPopup(p._p, { maxWidth: 380 });
        } else if (spec.popup && p._v) {
          layer.bindPopup(function () {
            return popupHtml(spec.popup, p);
          }, { maxWidth: 380 });
        }
        if (p._t) {
          layer.bindTooltip(p._t, { sticky: true });
        }
        if (p._s) {
          W.index.push({ text: String(p._s).toLowerCase(), label: String(p._s), layer: layer, group: null, key: spec.key });
        }
      },
    });
    if (spec.marker) {
      addMarkers(group, spec);
    }
    W.index.forEach(function (e) {
      if (e.key === spec.key && e.group === null) {
        e.group = group;
      }
    });
    window.wlgeoCounts[spec.key] = group.getLayers().length;
    window.wlgeoLayers[spec.key] = group;
    return group;
  };

  /* A static box (legend, title): a DOM node, or HTML built and escaped in Python. */
  W.box = function (map, html, position, className) {
    var Box = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var div = L.DomUtil.create("div", "wlgeo-box " + className);
        if (typeof html === "string") {
          div.innerHTML = html;
        } else {
          div.appendChild(html);
        }
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    return new Box().addTo(map);
  };

  /* SVG icons of the tool buttons (24 x 24 view box, stroked paths). */
  var ICONS = {
    fullscreen: "M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5",
    measure: "M3 17L17 3l4 4L7 21zM7 13l2 2M10 10l2 2M13 7l2 2",
  };

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "wlgeo-icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linejoin", "round");
    svg.appendChild(path);
    return svg;
  }

  function button(bar, name, title, onClick) {
    var a = L.DomUtil.create("a", "wlgeo-btn", bar);
    a.href = "#";
    a.setAttribute("role", "button");
    a.setAttribute("aria-label", title);
    a.title = title;
    a.appendChild(icon(name));
    L.DomEvent.on(a, "click", function (ev) {
      L.DomEvent.stop(ev);
      onClick(a);
    });
    return a;
  }

  /* Fullscreen: the Fullscreen API where it works, otherwise a fixed full-window box. */
  W.fullscreen = function (map) {
    var C = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var bar = L.DomUtil.create("div", "leaflet-bar wlgeo-fullscreen");
        var box = map.getContainer();
        button(bar, "fullscreen", "\u5168\u5C4F Fullscreen", function () {
          if (document.fullscreenElement) {
            document.exitFullscreen();
          } else if (L.DomUtil.hasClass(box, "wlgeo-pseudo-fs")) {
            L.DomUtil.removeClass(box, "wlgeo-pseudo-fs");
            map.invalidateSize();
          } else if (box.requestFullscreen) {
            box.requestFullscreen().catch(function () {
              L.DomUtil.addClass(box, "wlgeo-pseudo-fs");
              map.invalidateSize();
            });
          } else {
            L.DomUtil.addClass(box, "wlgeo-pseudo-fs");
            map.invalidateSize();
          }
        });
        document.addEventListener("fullscreenchange", function () {
          map.invalidateSize();
        });
        return bar;
      },
    });
    return new C().addTo(map);
  };

  function fmtDistance(m) {
    return m >= 1000 ? (m / 1000).toFixed(2) + " km" : Math.round(m) + " m";
  }

  /* Measure: click points on the map; the running length is shown; click the button to stop. */
  W.measure = function (map) {
    var state = { on: false, pts: [], line: null, out: null };
    function onClick(e) {
      state.pts.push(e.latlng);
      map.closePopup();
      if (!state.line) {
        state.line = L.polyline(state.pts, { color: "#d50000", weight: 2, dashArray: "5,4", interactive: false }).addTo(map);
      } else {
        state.line.setLatLngs(state.pts);
      }
      var total = 0;
      for (var i = 1; i < state.pts.length; i++) {
        total += map.distance(state.pts[i - 1], state.pts[i]);
      }
      state.out.textContent = "\u8DDD\u79BB Distance: " + fmtDistance(total);
    }
    var C = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var bar = L.DomUtil.create("div", "leaflet-bar wlgeo-measure");
        state.out = L.DomUtil.create("div", "wlgeo-measure-out", bar);
        state.out.style.display = "none";
        var btn = button(bar, "measure", "\u6D4B\u8DDD Measure distance", function () {
          state.on = !state.on;
          if (state.on) {
            L.DomUtil.addClass(btn, "wlgeo-on");
            map.getContainer().style.cursor = "crosshair";
            map.doubleClickZoom.disable();
            state.out.style.display = "block";
            state.out.textContent = "\u70B9\u51FB\u5730\u56FE Click the map";
            map.on("click", onClick);
          } else {
            L.DomUtil.removeClass(btn, "wlgeo-on");
            map.getContainer().style.cursor = "";
            map.doubleClickZoom.enable();
            map.off("click", onClick);
            if (state.line) {
              map.removeLayer(state.line);
            }
            state.line = null;
            state.pts = [];
            state.out.style.display = "none";
          }
        });
        bar.insertBefore(btn, state.out);
        L.DomEvent.disableClickPropagation(bar);
        W.measureState = state;
        return bar;
      },
    });
    return new C().addTo(map);
  };

  /* Zoom to a search hit and open its popup (on its marker while the zoom animates, then on its
   * polygon once the zoom crosses the outline threshold). */
  function openEntry(map, e) {
    if (e.group && !map.hasLayer(e.group)) {
      map.addLayer(e.group);
    }
    if (e.layer.getBounds) {
      map.fitBounds(e.layer.getBounds(), { maxZoom: 15 });
    } else if (e.layer.getLatLng) {
      map.setView(e.layer.getLatLng(), Math.max(map.getZoom(), 14));
    }
    e.layer.openPopup();
  }

  /* Search by quarry id or name: a text box and a list of matches (textContent only). */
  W.search = function (map) {
    var C = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "wlgeo-search leaflet-bar");
        var input = L.DomUtil.create("input", "wlgeo-search-input", div);
        input.type = "search";
        input.placeholder = "\u641C\u7D22\u7F16\u53F7/\u540D\u79F0 Search id or name";
        var list = L.DomUtil.create("ul", "wlgeo-search-list", div);
        function render() {
          var q = input.value.trim().toLowerCase();
          list.textContent = "";
          if (!q) {
            return [];
          }
          var hits = W.index.filter(function (e) {
            return e.text.indexOf(q) >= 0;
          }).slice(0, 20);
          hits.forEach(function (e) {
            var li = L.DomUtil.create("li", "wlgeo-search-hit", list);
            li.textContent = e.label;
            L.DomEvent.on(li, "click", function () {
              openEntry(map, e);
            });
          });
          if (!hits.length) {
            var none = L.DomUtil.create("li", "wlgeo-search-none", list);
            none.textContent = "\u65E0\u7ED3\u679C No match";
          }
          return hits;
        }
        L.DomEvent.on(input, "input", render);
        L.DomEvent.on(input, "keydown", function (ev) {
          if (ev.key === "Enter") {
            var hits = render();
            if (hits.length) {
              openEntry(map, hits[0]);
            }
          }
        });
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    return new C().addTo(map);
  };

  /* Called once every layer is on the map: record when the first frame with them is drawn. */
  W.ready = function (map) {
    window.wlgeoBuilt = performance.now();
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        window.wlgeoDrawn = performance.now();
      });
    });
  };
})();
