/* urbancover: compact vector layers for Leaflet (part of urbancover, MIT licence).
 *
 * A layer is {k: "line" | "poly" | "point", v: [dx, dy, ...] (longitude and latitude in
 * millionths of a degree, each the difference from the vertex before, across the whole layer),
 * r: [vertices of each line or ring], p: [rings of each polygon], f: [parts of each feature],
 * s: {Leaflet path options}, ss: [per-feature style overrides], si: [index into ss per feature],
 * rad: circle radius of points, t: popup title (or one per feature), l: [labels], c: [column per label:
 * [value per feature], or {u: [distinct values], i: [index into u per feature]}]}.
 * Titles, labels and values are HTML already escaped by urbancover. Features are made when the
 * layer is first shown, and one click handler per layer opens the popup of the feature clicked.
 */
var UC = (function () {
  function features(d) {
    var v = d.v, n = v.length / 2, pts = new Array(n), x = 0, y = 0, i, k;
    for (i = 0; i < n; i++) {
      x += v[2 * i];
      y += v[2 * i + 1];
      pts[i] = [y / 1e6, x / 1e6];
    }
    if (d.k === "point") return pts;
    var rings = new Array(d.r.length);
    for (i = 0, k = 0; i < d.r.length; k += d.r[i], i++) rings[i] = pts.slice(k, k + d.r[i]);
    var parts = rings;
    if (d.k === "poly") {
      parts = new Array(d.p.length);
      for (i = 0, k = 0; i < d.p.length; k += d.p[i], i++) parts[i] = rings.slice(k, k + d.p[i]);
    }
    var out = new Array(d.f.length);
    for (i = 0, k = 0; i < d.f.length; k += d.f[i], i++) out[i] = d.f[i] === 1 ? parts[k] : parts.slice(k, k + d.f[i]);
    return out;
  }

  function popup(d, i) {
    var t = Array.isArray(d.t) ? d.t[i] : d.t, rows = t ? "<tr><th></th><td>" + t + "</td></tr>" : "";
    for (var j = 0; j < d.l.length; j++) {
      var col = d.c[j], val = col.u ? col.u[col.i[i]] : col[i];
      if (val !== null && val !== undefined && val !== "") rows += "<tr><th>" + d.l[j] + "</th><td>" + val + "</td></tr>";
    }
    return "<div class='ucpopup'><table>" + rows + "</table></div>";
  }

  function build(group, d) {
    var geoms = features(d), n = geoms.length, i, lyr, opts;
    for (i = 0; i < n; i++) {
      opts = d.si ? Object.assign({}, d.s, d.ss[d.si[i]]) : d.s;
      if (d.k === "point") lyr = L.circleMarker(geoms[i], Object.assign({radius: d.rad}, opts));
      else if (d.k === "poly") lyr = L.polygon(geoms[i], opts);
      else lyr = L.polyline(geoms[i], opts);
      lyr.ucIndex = i;
      group.addLayer(lyr);
    }
    if (d.l) {
      group.on("click", function (e) {
        L.popup({maxWidth: 380}).setLatLng(e.latlng).setContent(popup(d, e.layer.ucIndex)).openOn(group._map);
      });
    }
  }

  /* Fill ``parent`` (a feature group of the layer control) with ``layers`` when it is first shown. */
  function lazy(parent, layers) {
    var done = false;
    function fill() {
      if (done) return;
      done = true;
      for (var j = 0; j < layers.length; j++) {
        var g = L.featureGroup();
        build(g, layers[j]);
        parent.addLayer(g);
      }
    }
    parent.on("add", fill);
    if (parent._map) fill();
  }

  return {features: features, popup: popup, lazy: lazy};
})();
