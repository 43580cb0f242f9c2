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

  /* Build one L.geoJSON layer from a spec {key, name, style, styleBy, radius, data}. */
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
    W.index.forEach(function (e) {
      if (e.key === spec.key && e.group === null) {
        e.group = group;
      }
    });
    window.wlgeoCounts[spec.key] = group.getLayers().length;
    window.wlgeoLayers[spec.key] = group;
    return group;
  };

  /* A static HTML box (legend, title); the HTML is built and escaped in Python. */
  W.box = function (map, html, position, className) {
    var Box = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var div = L.DomUtil.create("div", "wlgeo-box " + className);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    return new Box().addTo(map);
  };

  function button(bar, text, title, onClick) {
    var a = L.DomUtil.create("a", "wlgeo-btn", bar);
    a.href = "#";
    a.setAttribute("role", "button");
    a.title = title;
    a.textContent = text;
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
        button(bar, "\u5168", "\u5168\u5C4F Fullscreen", function () {
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
        var btn = button(bar, "\u6D4B", "\u6D4B\u8DDD Measure distance", function () {
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
