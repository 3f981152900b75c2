/* circle15 map runtime, 1 of 3: namespace, text-only DOM helpers, decoding, lazy layers.
 *
 * Python (circle15.outputs.webmap) writes each layer's data as strict JSON; these files turn
 * it into Leaflet layers. Every text that came from input files (names, notes, ids) reaches
 * the page through textContent or DOM attributes, never through innerHTML: popups, tooltips,
 * the layer control and link targets are built as DOM nodes.
 */
(function (L) {
    "use strict";

    var C15 = L.Circle15 = {};
    var MISSING = "\u2014";

    // ---------------------------------------------------------------------------------
    // DOM helpers: text only
    // ---------------------------------------------------------------------------------
    function el(tag, cls, text, parent) {
        var node = document.createElement(tag);
        if (cls) { node.className = cls; }
        if (text !== undefined && text !== null) { node.textContent = String(text); }
        if (parent) { parent.appendChild(node); }
        return node;
    }
    C15.el = el;

    // A link target from the data must be a relative path: no scheme (javascript:, data:),
    // no protocol-relative "//host".
    function safeHref(href) {
        href = String(href);
        return (/^[a-z][a-z0-9+.\-]*:/i.test(href) || /^[\\/]{2}/.test(href)) ? null : href;
    }

    function fillValue(td, value) {
        if (value !== null && typeof value === "object" && value.links) {
            value.links.forEach(function (link, i) {
                if (i > 0) { td.appendChild(document.createTextNode(" \u00b7 ")); }
                var href = safeHref(link[1]);
                if (href === null) { td.appendChild(document.createTextNode(link[0])); return; }
                var a = el("a", null, link[0], td);
                a.setAttribute("href", href);
                a.setAttribute("target", "_blank");
                a.setAttribute("rel", "noopener");
            });
        } else {
            td.textContent = value === null || value === undefined ? MISSING : String(value);
        }
    }

    /** A popup card: bold title, optional subtitle line, a table of [label, value] rows. */
    C15.card = function (title, subtitle, rows) {
        var box = el("div", "c15-popup");
        if (title !== null && title !== undefined && title !== "") { el("b", null, title, box); }
        if (subtitle) { el("div", "c15-sub", subtitle, box); }
        if (rows && rows.length) {
            var table = el("table", null, null, box);
            rows.forEach(function (r) {
                var tr = el("tr", null, null, table);
                if (r[0] !== "") { el("th", null, r[0], tr); }
                fillValue(el("td", null, null, tr), r[1]);
            });
        }
        return box;
    };

    /** Rows of a popup spec for feature i: labels with values; null extras are left out. */
    function rowsOf(spec, i) {
        var values = spec.values[i], out = [];
        for (var k = 0; k < spec.labels.length; k++) {
            if (values[k] === null && spec.optional && k >= spec.optional) { continue; }
            out.push([spec.labels[k], values[k]]);
        }
        return out;
    }

    function cardOf(spec, i) {
        var title = spec.titles ? spec.titles[i] : spec.title;
        var sub = spec.subtitles ? spec.subtitles[i] : spec.subtitle;
        return C15.card(title, sub, rowsOf(spec, i));
    }

    function people(p) {
        if (p === null) { return MISSING; }
        return p < 10 ? p.toFixed(1) : Math.round(p).toLocaleString("en-US");
    }

    // ---------------------------------------------------------------------------------
    // Decoding
    // ---------------------------------------------------------------------------------
    function bytes(b64) {
        var s = atob(b64), n = s.length, out = new Uint8Array(n);
        for (var i = 0; i < n; i++) { out[i] = s.charCodeAt(i); }
        return out;
    }
    var TYPES = {u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, f4: Float32Array};

    /** A little-endian typed array: {"t": "u2", "b": base64}. */
    C15.array = function (spec) {
        var raw = bytes(spec.b), T = TYPES[spec.t];
        return new T(raw.buffer, 0, raw.byteLength / T.BYTES_PER_ELEMENT);
    };

    /** Quantised numbers {"t", "b", "s": scale (default 1)}: value(k) = int / scale, or null (max int). */
    C15.numbers = function (spec) {
        var a = C15.array(spec), scale = spec.s || 1, missing = Math.pow(2, 8 * a.BYTES_PER_ELEMENT) - 1;
        return {
            raw: a,
            missing: missing,
            get: function (k) { var v = a[k]; return v === missing ? null : v / scale; }
        };
    };

    /** Zigzag LEB128 varints (base64) as a Float64Array of signed integers. */
    function varints(b64) {
        var buf = bytes(b64), out = new Float64Array(buf.length), n = 0, v = 0, m = 1;
        for (var i = 0; i < buf.length; i++) {
            var b = buf[i];
            v += (b & 127) * m;
            if (b < 128) {
                out[n++] = (v % 2) ? -(v + 1) / 2 : v / 2;
                v = 0;
                m = 1;
            } else {
                m *= 128;
            }
        }
        return out.subarray(0, n);
    }

    /**
     * Geometries {"n", "c": counts, "xy": coordinate deltas, "q": scale}: per feature its
     * parts, per part its rings (polygons: exterior then holes; lines and points: one), per
     * ring its vertices; coordinates are lat, lng deltas in 1/q degree.
     */
    C15.geometry = function (spec) {
        var counts = varints(spec.c), xy = varints(spec.xy), q = spec.q, n = spec.n;
        var fPart = new Uint32Array(n + 1), pRing = [0], rVert = [0], c = 0;
        for (var f = 0; f < n; f++) {
            var parts = counts[c++];
            fPart[f + 1] = fPart[f] + parts;
            for (var p = 0; p < parts; p++) {
                var rings = counts[c++];
                pRing.push(pRing[pRing.length - 1] + rings);
                for (var r = 0; r < rings; r++) {
                    rVert.push(rVert[rVert.length - 1] + counts[c++]);
                }
            }
        }
        var nv = xy.length / 2, lat = new Float64Array(nv), lng = new Float64Array(nv);
        var a = 0, b = 0;
        for (var v = 0; v < nv; v++) {
            a += xy[2 * v];
            b += xy[2 * v + 1];
            lat[v] = a / q;
            lng[v] = b / q;
        }
        return {n: n, fPart: fPart, pRing: Uint32Array.from(pRing), rVert: Uint32Array.from(rVert),
                lat: lat, lng: lng};
    };

    function ringLatLngs(g, r) {
        var out = [];
        for (var v = g.rVert[r]; v < g.rVert[r + 1]; v++) { out.push([g.lat[v], g.lng[v]]); }
        return out;
    }

    /** Leaflet latlngs of feature f: for polygons [[ring, hole…], …], for lines [line, …]. */
    function featureLatLngs(g, f, kind) {
        var parts = [];
        for (var p = g.fPart[f]; p < g.fPart[f + 1]; p++) {
            var rings = [];
            for (var r = g.pRing[p]; r < g.pRing[p + 1]; r++) { rings.push(ringLatLngs(g, r)); }
            parts.push(kind === "line" ? rings[0] : rings);
        }
        return parts;
    }

    function ids(spec) {
        if (spec.list) { return function (k) { return spec.list[k]; }; }
        var num = spec.num ? C15.array(spec.num) : null;
        return function (k) {
            var s = String(num ? num[k] : spec.start + k);
            while (s.length < spec.width) { s = "0" + s; }
            return spec.prefix + s;
        };
    }

    // ---------------------------------------------------------------------------------
    // A layer whose content is built when it is first shown (most layers never are)
    // ---------------------------------------------------------------------------------
    C15.Lazy = L.FeatureGroup.extend({
        initialize: function (build, options) {
            L.FeatureGroup.prototype.initialize.call(this, [], options);
            this._build = build;
        },
        onAdd: function (map) {
            this.ensure(map);
            L.FeatureGroup.prototype.onAdd.call(this, map);
        },
        /** Build now (tests and the layer control's bounds use it). */
        ensure: function (map) {
            if (this._build) {
                var build = this._build;
                this._build = null;
                build.call(this, this, map);
            }
            return this;
        }
    });

    function pane(map, name, zIndex, opacity) {
        var p = map.getPane(name);
        if (!p) {
            p = map.createPane(name);
            p.style.zIndex = zIndex;
            if (opacity !== undefined) { p.style.opacity = opacity; }
        }
        return p;
    }

    // Shared with the other runtime files.
    C15.util = {el: el, rowsOf: rowsOf, cardOf: cardOf, people: people, bytes: bytes, ids: ids,
                varints: varints,
                featureLatLngs: featureLatLngs, pane: pane, MISSING: MISSING};
}(window.L));
