/* wlgeo light map: decodes the compact layer data of wlgeo.webmap and builds the map.
 * Written for wlgeo (MIT). Needs Leaflet 1.9 and wlgeo_map.js (controls, markers, search).
 * Nothing from the data is ever parsed as HTML: every text is set with textContent.
 */
(function () {
  "use strict";
  var W = (window.wlgeo = window.wlgeo || {});
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var LOOKUP = new Int8Array(128);
  for (var a = 0; a < ALPHABET.length; a++) {
    LOOKUP[ALPHABET.charCodeAt(a)] = a;
  }

  /* zigzag base-32 varints (see wlgeo.webmap.encode_varints) → Float64Array */
  function varints(text) {
    var out = new Float64Array(text.length);
    var n = 0, value = 0, mult = 1;
    for (var i = 0; i < text.length; i++) {
      var k = LOOKUP[text.charCodeAt(i)];
      value += (k & 31) * mult;
      if (k >= 32) {
        mult *= 32;
        continue;
      }
      out[n++] = value % 2 ? -(value + 1) / 2 : value / 2;
      value = 0;
      mult = 1;
    }
    return out.subarray(0, n);
  }
  W.varints = varints;

  /* One encoded level → per feature, an array of parts, each an array of rings of L.LatLng. */
  function decodeLevel(lvl, origin) {
    var np = varints(lvl.p), nr = varints(lvl.r), nv = varints(lvl.v), c = varints(lvl.c);
    var q = lvl.q, x = 0, y = 0, ci = 0, pi = 0, ri = 0;
    var feats = new Array(np.length);
    for (var f = 0; f < np.length; f++) {
      var parts = new Array(np[f]);
      for (var p = 0; p < np[f]; p++) {
        var rings = new Array(nr[pi]);
        for (var r = 0; r < nr[pi]; r++) {
          var n = nv[ri++];
          var ring = new Array(n);
          for (var v = 0; v < n; v++) {
            x += c[ci++];
            y += c[ci++];
            ring[v] = new L.LatLng(origin[1] + y * q, origin[0] + x * q);
          }
          rings[r] = ring;
        }
        pi++;
        parts[p] = rings;
      }
      feats[f] = parts;
    }
    return feats;
  }

  /* A column of the attribute table: a list, or {d: dictionary, i: varint indices}. */
  function column(col) {
    if (col && !Array.isArray(col)) {
      var idx = varints(col.i), out = new Array(idx.length);
      for (var i = 0; i < idx.length; i++) {
        out[i] = col.d[idx[i]];
      }
      return out;
    }
    return col || [];
  }

  function el(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = text;
    }
    if (parent) {
      parent.appendChild(e);
    }
    return e;
  }

  /* A legend swatch drawn from a style entry (the same symbol as on the map). */
  function swatch(sw, parent) {
    var s = el("span", "wlgeo-swatch", null, parent);
    if (sw.t === "line") {
      s.className += " wlgeo-line";
      s.style.borderTopColor = sw.s;
      s.style.borderTopWidth = Math.max(sw.w, 1.5) + "px";
      if (sw.d) {
        s.style.borderTopStyle = "dashed";
      }
    } else if (sw.t === "dot" || sw.t === "point") {
      s.className += " wlgeo-point" + (sw.t === "dot" ? " wlgeo-dot" : "");
      s.style.background = sw.f || sw.s;
      s.style.border = "1px solid " + sw.s;
    } else {
      s.style.background = sw.f || "transparent";
      s.style.opacity = sw.f ? Math.max(sw.o, 0.35) : 1;
      s.style.border = Math.max(Math.round(sw.w), 1) + "px " + (sw.d ? "dashed" : "solid") + " " + sw.s;
    }
    return s;
  }

  function table(rows, parent) {
    var t = el("table", null, null, parent);
    rows.forEach(function (r) {
      var tr = el("tr", null, null, t);
      el("th", null, r[0], tr);
      var td = el("td", null, null, tr);
      if (r[2]) {
        swatch(r[2], td);
      }
      td.appendChild(document.createTextNode(r[1] === null || r[1] === undefined ? "\u2014" : r[1]));
    });
    return t;
  }

  /* Popup / tooltip / search text of feature i of a layer, from its columns. */
  function makeTexts(spec) {
    var cols = (spec.cols || []).map(function (c) {
      return { f: c.f, h: c.h, v: column(c.v) };
    });
    var byField = {};
    cols.forEach(function (c) {
      byField[c.f] = c.v;
    });
    var reasons = spec.reasons ? column(spec.reasons) : null;
    function val(f, i) {
      return byField[f] ? byField[f][i] : null;
    }
    function head(i) {
      if (spec.popup === "quarry") {
        return [val("quarry_id", i), val("name", i)].filter(function (v) {
          return v !== null && v !== undefined;
        }).join(" ");
      }
      if (spec.popup === "titled") {
        var id = val(spec.id, i);
        return spec.label + " " + (id === null || id === undefined ? "\u2014" : id);
      }
      var name = val("name", i);
      return name === null || name === undefined ? spec.label : spec.label + ": " + name;
    }
    return {
      head: head,
      search: function (i) {
        if (spec.popup === "quarry") {
          return head(i);
        }
        var id = val(spec.id, i);
        return id === null || id === undefined ? "" : String(id);
      },
      tooltip: function (i) {
        return spec.popup === "quarry" ? head(i) + " \u2014 " + spec.decision.label : head(i);
      },
      popup: function (i) {
        var div = el("div", "wlgeo-popup");
        el("h4", null, spec.popup === "context" ? spec.label : head(i), div);
        table(cols.map(function (c) {
          return [c.h, c.v[i]];
        }), div);
        if (spec.popup === "quarry") {
          table([["\u51b3\u7b56 Decision", spec.decision.label, spec.decision.sw]], div);
          var b = el("div", null, null, div);
          el("b", null, "\u7406\u7531 Reasons", b);
          var ul = el("ul", null, null, div);
          var lines = reasons && reasons[i] ? reasons[i].split("\n") : [];
          (lines.length ? lines : ["\u2014"]).forEach(function (line) {
            el("li", null, line, ul);
          });
        }
        return div;
      },
    };
  }

  function styleFor(spec, kind) {
    var s = spec.style;
    if (spec.styleBy && kind !== null && kind !== undefined && spec.styleBy.styles[kind]) {
      s = L.extend({}, s, spec.styleBy.styles[kind]);
    }
    return s;
  }

  /* Vector layers whose popup and tooltip are bound the first time they are needed (a mouse
   * over or click reaching their group, or getPopup/openPopup/getTooltip/openTooltip called);
   * a feature drawn as a dot below the outline zoom shares its popup and tooltip with its polygon
   * (its "twin"), and opens them on the twin when it is itself not on the map. */
  function ensure(layer) {
    if (!layer._wlgeoBound && layer._wlgeoBind) {
      layer._wlgeoBound = true;
      layer._wlgeoBind(layer);
    }
    return layer;
  }
  function lazyOpen(kind) {
    var own = L.Layer.prototype["open" + kind];
    return function (latlng) {
      ensure(this);
      var twin = this._wlgeoTwin;
      if (!this._map && twin && twin._map) {
        ensure(twin);
        own.call(twin, twin.getLatLng ? undefined : latlng || (this.getCenter ? this.getCenter() : undefined));
        return this;
      }
      return own.call(this, latlng);
    };
  }
  var Lazy = {
    getPopup: function () {
      return L.Layer.prototype.getPopup.call(ensure(this));
    },
    getTooltip: function () {
      return L.Layer.prototype.getTooltip.call(ensure(this));
    },
    openPopup: lazyOpen("Popup"),
    openTooltip: lazyOpen("Tooltip"),
  };
  var WPolygon = L.Polygon.extend(Lazy);
  var WPolyline = L.Polyline.extend(Lazy);
  var WCircle = L.CircleMarker.extend(Lazy);

  /* First mouse-over or click of a not-yet-bound feature: bind, then open what was asked. */
  function lazyEvents(group) {
    group.on("mouseover click", function (e) {
      var l = e.propagatedFrom || e.layer;
      if (!l || l._wlgeoBound) {
        return;
      }
      ensure(l);
      if (e.type === "click") {
        l.openPopup(l.getLatLng ? undefined : e.latlng);
      } else {
        l.openTooltip(e.latlng);
      }
    });
  }

  /* Popup and tooltip objects of feature i, shared by its polygon and its dot. */
  function shared(texts, i, store) {
    if (!store[i]) {
      var popup = new L.Popup({ maxWidth: 380 });
      popup.setContent(function () {
        return texts.popup(i);
      });
      var tip = new L.Tooltip({ sticky: true });
      tip.setContent(function () {
        return el("span", null, texts.tooltip(i));
      });
      store[i] = { popup: popup, tooltip: tip };
    }
    return store[i];
  }
  function binder(texts, i, store) {
    return function (layer) {
      var s = shared(texts, i, store);
      layer.bindPopup(s.popup);
      layer.bindTooltip(s.tooltip);
    };
  }

  /* Per-feature kinds of a "mixed" level (points with polygons or lines), else null. */
  var KINDS = ["point", "line", "polygon"];
  function featureKinds(lvl) {
    if (!lvl.t) {
      return null;
    }
    return Array.prototype.map.call(varints(lvl.t), function (k) {
      return KINDS[k];
    });
  }

  /* The Leaflet layer of one feature at one level. */
  function featureLayer(spec, geom, kindValue, kind) {
    if (!geom || !geom.length) {
      return null;
    }
    var style = styleFor(spec, kindValue);
    if (kind === "point") {
      return new WCircle(geom[0][0][0], L.extend({ radius: spec.radius || 5 }, style, { fill: true }));
    }
    if (kind === "line") {
      var lines = geom.map(function (part) {
        return part[0];
      });
      return new WPolyline(lines.length === 1 ? lines[0] : lines, style);
    }
    return new WPolygon(geom.length === 1 ? geom[0] : geom, style);
  }

  /* A context layer with display levels: a level is decoded the first time its zoom is shown
   * (or its features are asked for); a hidden layer costs nothing until switched on. */
  function leveledLayer(map, spec, origin, texts, kinds) {
    var group = L.featureGroup();
    var built = {};
    var store = {};
    var current = -1;
    function levelFor(z) {
      var k = 0;
      for (var i = 0; i < spec.lods.length; i++) {
        if (z >= spec.lods[i].z) {
          k = i;
        }
      }
      return k;
    }
    function build(k) {
      if (!built[k]) {
        var lvl = spec.lods[k];
        var geoms = decodeLevel(lvl, origin);
        var fk = featureKinds(lvl);
        var layers = [];
        for (var i = 0; i < geoms.length; i++) {
          var l = featureLayer(spec, geoms[i], kinds ? kinds[i] : null, fk ? fk[i] : lvl.k);
          if (l) {
            l.feature = { properties: { kind: kinds ? kinds[i] : null } };
            l._wlgeoBind = binder(texts, i, store);
            layers.push(l);
          }
        }
        built[k] = layers;
      }
      return built[k];
    }
    function show(k) {
      if (k === current) {
        return;
      }
      L.LayerGroup.prototype.clearLayers.call(group);
      build(k).forEach(function (l) {
        L.FeatureGroup.prototype.addLayer.call(group, l);
      });
      current = k;
    }
    function sync() {
      show(levelFor(map.getZoom()));
    }
    group.getLayers = function () {
      if (current < 0) {
        sync();
      }
      return L.LayerGroup.prototype.getLayers.call(group);
    };
    group.on("add", function () {
      map.on("zoomend", sync);
      sync();
    });
    group.on("remove", function () {
      map.off("zoomend", sync);
    });
    group.wlgeoLevel = function () {
      return current;
    };
    lazyEvents(group);
    return group;
  }

  /* Quarries, new sites, groups: polygons (built when first needed) and, below the outline zoom,
   * dots at a point inside each. The group is the one entry of the layer switcher. */
  function planLayer(map, spec, origin, texts) {
    var lvl = spec.lods[0];
    var geoms = null;
    var fkinds = null;
    var store = {};
    var group = L.featureGroup();
    var polys = [];
    var markers = [];
    var feats = [];
    var ms = spec.marker;
    var shown = null; /* "markers" | "polygons" | null (not on the map) */
    var marks = spec.m ? decodeLevel(spec.m, origin) : null;
    var n = spec.n;
    for (var i = 0; i < n; i++) {
      var props = {};
      if (marks && marks[i] && marks[i].length) {
        var at = marks[i][0][0][0];
        props._m = [at.lng, at.lat];
      }
      var label = spec.popup === "quarry" || spec.search ? texts.search(i) : "";
      if (label) {
        props._s = label;
      }
      feats.push({ properties: props });
    }
    function poly(i) {
      if (polys[i] === undefined) {
        geoms = geoms || decodeLevel(lvl, origin);
        fkinds = fkinds || featureKinds(lvl);
        var l = featureLayer(spec, geoms[i], null, fkinds ? fkinds[i] : lvl.k);
        polys[i] = l;
        if (l) {
          l.feature = feats[i];
          l._wlgeoBind = binder(texts, i, store);
          if (markers[i]) {
            l._wlgeoTwin = markers[i];
          }
          l.addEventParent(group);
          group._layers[L.stamp(l)] = l;
          if (shown === "polygons") {
            map.addLayer(l);
          }
        }
      }
      return polys[i];
    }
    function twinOf(i) {
      return function () {
        return poly(i);
      };
    }
    function allPolys() {
      for (var i = 0; i < n; i++) {
        poly(i);
      }
    }
    if (ms) {
      for (var j = 0; j < n; j++) {
        var p = feats[j].properties._m;
        if (!p) {
          continue;
        }
        var mk = new WCircle([p[1], p[0]], styleFor({ style: ms.style, styleBy: ms.styleBy }, null));
        mk.feature = feats[j];
        mk._wlgeoBind = binder(texts, j, store);
        Object.defineProperty(mk, "_wlgeoTwin", { get: twinOf(j) });
        mk.addEventParent(group);
        markers[j] = mk;
      }
    }
    var liveMarkers = markers.filter(function (m) {
      return m;
    });
    function sync() {
      var want = ms && map.getZoom() < ms.below ? "markers" : "polygons";
      if (want === shown) {
        return;
      }
      var pop = map._popup && map.hasLayer(map._popup) ? map._popup : null;
      var source = pop ? pop._source : null;
      var at = pop ? pop.getLatLng() : null;
      if (want === "polygons") {
        allPolys();
      }
      var on = want === "markers" ? liveMarkers : L.LayerGroup.prototype.getLayers.call(group);
      var off = shown === "markers" ? liveMarkers : shown === "polygons" ? L.LayerGroup.prototype.getLayers.call(group) : [];
      off.forEach(function (l) {
        map.removeLayer(l);
      });
      on.forEach(function (l) {
        map.addLayer(l);
      });
      shown = want;
      if (source && source._wlgeoTwin && source._wlgeoTwin._map && !map.hasLayer(pop)) {
        source._wlgeoTwin.openPopup(at);
      }
    }
    group.getLayers = function () {
      allPolys();
      return L.LayerGroup.prototype.getLayers.call(group);
    };
    group.eachLayer = function (fn, ctx) {
      allPolys();
      return L.LayerGroup.prototype.eachLayer.call(group, fn, ctx);
    };
    group.onAdd = function () {
      shown = null;
      map.on("zoomend", sync);
      sync();
    };
    group.onRemove = function () {
      map.off("zoomend", sync);
      L.LayerGroup.prototype.getLayers.call(group).concat(liveMarkers).forEach(function (l) {
        map.removeLayer(l);
      });
      shown = null;
    };
    group.wlgeoMarkers = liveMarkers;
    group.wlgeoShown = function () {
      return shown;
    };
    lazyEvents(group);
    feats.forEach(function (f, i) {
      if (f.properties._s) {
        var entry = { text: f.properties._s.toLowerCase(), label: f.properties._s, group: group, key: spec.key };
        Object.defineProperty(entry, "layer", {
          get: function () {
            return poly(i);
          },
        });
        W.index.push(entry);
      }
    });
    return group;
  }

  function titleBox(D) {
    var div = el("div");
    el("h4", null, D.title, div);
    if (D.note) {
      el("div", "wlgeo-note", D.note, div);
    }
    if (D.synthetic) {
      el("div", "wlgeo-synthetic", "\u793a\u610f\u6570\u636e Synthetic data", div);
    }
    return div;
  }

  function legendBox(D) {
    var div = el("div");
    el("h4", null, "\u56fe\u4f8b Legend", div);
    D.legend.forEach(function (item) {
      if (item.note) {
        var n = el("div", "wlgeo-note", null, div);
        item.note.forEach(function (line, j) {
          if (j) {
            el("br", null, null, n);
          }
          n.appendChild(document.createTextNode(line));
        });
        return;
      }
      var row = el("div", "wlgeo-item", null, div);
      item.sw.forEach(function (sw) {
        swatch(sw, row);
      });
      row.appendChild(document.createTextNode(item.t));
    });
    return div;
  }

  W.boot = function (script) {
    var D = JSON.parse(script.textContent);
    var map = L.map("wlgeo-map", { preferCanvas: true, zoomControl: true });
    if (D.bounds) {
      map.fitBounds(D.bounds);
    } else {
      map.setView([29.35, 107.75], 10);
    }
    var base = {};
    D.tiles.forEach(function (t, i) {
      var tl = L.tileLayer(t.url, { attribution: t.attribution, subdomains: t.subdomains, maxZoom: t.maxZoom });
      tl.addTo(map);
      base[t.name] = tl;
    });
    var overlays = {};
    D.layers.forEach(function (spec) {
      var texts = makeTexts(spec);
      var group;
      if (!spec.marker) {
        group = leveledLayer(map, spec, D.origin, texts, spec.kind ? column(spec.kind) : null);
      } else {
        group = planLayer(map, spec, D.origin, texts);
      }
      window.wlgeoCounts[spec.key] = spec.n;
      window.wlgeoLayers[spec.key] = group;
      overlays[spec.name] = group;
      if (spec.show) {
        group.addTo(map);
      }
    });
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    W.box(map, titleBox(D), "bottomleft", "wlgeo-title");
    W.box(map, legendBox(D), "bottomright", "wlgeo-legend");
    L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);
    W.fullscreen(map);
    W.measure(map);
    W.search(map);
    W.map = map;
    W.ready(map);
    return map;
  };
})();
