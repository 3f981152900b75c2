/* circle15 map runtime, 2 of 3: populated cells on a canvas.
 *
 * Cells on a regular grid travel as grid indexes plus a coarse lattice of WGS84 control
 * points, other cells as quantised polygons; per-category values are small integers in
 * base64 typed arrays. A click looks up the cell under the pointer (grid arithmetic, or a
 * bucket index for polygons).
 */
(function (L) {
    "use strict";

    var C15 = L.Circle15, U = C15.util, el = U.el, rowsOf = U.rowsOf, people = U.people;
    var bytes = U.bytes, ids = U.ids, varints = U.varints, pane = U.pane, MISSING = U.MISSING;

    // ---------------------------------------------------------------------------------
    // Cells: grid indexes or polygons, projected once, looked up under the pointer
    // ---------------------------------------------------------------------------------
    /**
     * The populated cells shared by every cell layer: ids, sub-districts and geometry.
     * Grid cells are (i, j) on a grid whose corner (a, b) lies at a bilinear blend of the
     * WGS84 control lattice (every `step` corners); the blend is done in Web Mercator pixels.
     */
    C15.Cells = function (spec) {
        this.n = spec.n;
        this.id = ids(spec.ids);
        this._district = spec.district ? C15.array(spec.district) : null;
        this._districts = spec.districts;
        this.grid = spec.grid ? grid(spec.grid, this.n) : null;
        this.poly = spec.poly ? {
            geom: C15.geometry(spec.poly.geom), cell: C15.array(spec.poly.cell)
        } : null;
        this._prepared = null;
    };

    // Grid (i, j) of each cell from the running sums of its position deltas; `none` off it.
    function grid(g, n) {
        var lattice = C15.geometry(g.lattice), pos = varints(g.pos), off = varints(g.off);
        var i = new Uint32Array(n), j = new Uint32Array(n), none = 4294967295, skip = new Uint8Array(n);
        for (var x = 0, at = 0; x < off.length; x++) { at += off[x]; skip[at] = 1; }
        for (var k = 0, p = 0, lin = 0; k < n; k++) {
            if (skip[k]) { i[k] = j[k] = none; continue; }
            lin += pos[p++];
            i[k] = lin % g.ni;
            j[k] = Math.floor(lin / g.ni);
        }
        return {ni: g.ni, nj: g.nj, step: g.step, cni: g.cni, cnj: g.cnj, clat: lattice.lat,
                clng: lattice.lng, i: i, j: j, none: none};
    }

    C15.Cells.prototype.district = function (k) {
        if (!this._district) { return MISSING; }
        var d = this._district[k];
        return d < this._districts.length ? this._districts[d] : MISSING;
    };

    /** Project the grid's control lattice and the polygon cells once (zoom-0 pixels). */
    C15.Cells.prototype.prepare = function (map) {
        if (this._prepared) { return this._prepared; }
        var prep = {grid: null, poly: null};
        var g = this.grid;
        if (g) {
            if (g.cni < 2 || g.cnj < 2) { throw new Error("circle15: the cell grid needs a 2 x 2 control lattice"); }
            var cx = new Float64Array(g.cni * g.cnj), cy = new Float64Array(g.cni * g.cnj);
            for (var c = 0; c < cx.length; c++) {
                var pt = map.project([g.clat[c], g.clng[c]], 0);
                cx[c] = pt.x;
                cy[c] = pt.y;
            }
            // Grid corner (a, b) in zoom-0 pixels: bilinear within its lattice tile.
            var corner = function (a, b, out, o) {
                var ti = Math.max(0, Math.min(Math.floor(a / g.step), g.cni - 2));
                var tj = Math.max(0, Math.min(Math.floor(b / g.step), g.cnj - 2));
                var u = a / g.step - ti, v = b / g.step - tj;
                var k00 = tj * g.cni + ti, k10 = k00 + 1, k01 = k00 + g.cni, k11 = k01 + 1;
                out[o] = (1 - u) * (1 - v) * cx[k00] + u * (1 - v) * cx[k10] + (1 - u) * v * cx[k01] + u * v * cx[k11];
                out[o + 1] = (1 - u) * (1 - v) * cy[k00] + u * (1 - v) * cy[k10] + (1 - u) * v * cy[k01] + u * v * cy[k11];
            };
            var dense = g.ni * g.nj <= 8e6, lookup = dense ? new Int32Array(g.ni * g.nj).fill(-1) : new Map();
            for (var k = 0; k < this.n; k++) {
                var i = g.i[k], j = g.j[k];
                if (i === g.none) { continue; }
                if (dense) { lookup[j * g.ni + i] = k; } else { lookup.set(j * g.ni + i, k); }
            }
            prep.grid = {corner: corner, dense: dense, lookup: lookup, cx: cx, cy: cy};
        }
        var P = this.poly;
        if (P) {
            var G = P.geom, nv = G.lat.length, px = new Float64Array(nv), py = new Float64Array(nv);
            for (var v = 0; v < nv; v++) {
                var q = map.project([G.lat[v], G.lng[v]], 0);
                px[v] = q.x;
                py[v] = q.y;
            }
            var box = new Float64Array(G.n * 4), byCell = new Int32Array(this.n).fill(-1);
            for (var f = 0; f < G.n; f++) {
                var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
                for (var w = G.rVert[G.pRing[G.fPart[f]]]; w < G.rVert[G.pRing[G.fPart[f + 1]]]; w++) {
                    x0 = Math.min(x0, px[w]); x1 = Math.max(x1, px[w]);
                    y0 = Math.min(y0, py[w]); y1 = Math.max(y1, py[w]);
                }
                box[4 * f] = x0; box[4 * f + 1] = y0; box[4 * f + 2] = x1; box[4 * f + 3] = y1;
                byCell[P.cell[f]] = f;
            }
            prep.poly = {x: px, y: py, box: box, byCell: byCell, buckets: buckets(box, G.n)};
        }
        this._prepared = prep;
        return prep;
    };

    // A uniform bucket index over feature boxes (64 x 64 buckets over their extent).
    function buckets(box, n) {
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, N = 64;
        for (var f = 0; f < n; f++) {
            x0 = Math.min(x0, box[4 * f]); y0 = Math.min(y0, box[4 * f + 1]);
            x1 = Math.max(x1, box[4 * f + 2]); y1 = Math.max(y1, box[4 * f + 3]);
        }
        var sx = (x1 - x0) / N || 1, sy = (y1 - y0) / N || 1, cells = [];
        for (var b = 0; b < N * N; b++) { cells.push([]); }
        for (f = 0; f < n; f++) {
            var a0 = Math.max(0, Math.floor((box[4 * f] - x0) / sx)), a1 = Math.min(N - 1, Math.floor((box[4 * f + 2] - x0) / sx));
            var b0 = Math.max(0, Math.floor((box[4 * f + 1] - y0) / sy)), b1 = Math.min(N - 1, Math.floor((box[4 * f + 3] - y0) / sy));
            for (var bj = b0; bj <= b1; bj++) {
                for (var bi = a0; bi <= a1; bi++) { cells[bj * N + bi].push(f); }
            }
        }
        return {x0: x0, y0: y0, sx: sx, sy: sy, N: N, cells: cells};
    }

    function inRing(x, y, xs, ys, from, to) {
        var inside = false;
        for (var a = from, b = to - 1; a < to; b = a++) {
            if ((ys[a] > y) !== (ys[b] > y) && x < (xs[b] - xs[a]) * (y - ys[a]) / (ys[b] - ys[a]) + xs[a]) {
                inside = !inside;
            }
        }
        return inside;
    }

    /** The four corners of grid cell k (counter-clockwise from (i, j)), zoom-0 pixels. */
    C15.Cells.prototype.quad = function (map, k, xs, ys) {
        var G = this.prepare(map).grid, i = this.grid.i[k], j = this.grid.j[k], out = new Float64Array(2);
        var at = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]];
        for (var c = 0; c < 4; c++) {
            G.corner(at[c][0], at[c][1], out, 0);
            xs[c] = out[0];
            ys[c] = out[1];
        }
    };

    /** Index of the cell under `latlng`, or -1. */
    C15.Cells.prototype.hit = function (map, latlng) {
        var prep = this.prepare(map), p = map.project(latlng, 0), x = p.x, y = p.y;
        var G = prep.grid, g = this.grid;
        if (G) {
            // Grid coordinates of the point: Newton steps on the bilinear corner map.
            var a = g.ni / 2, b = g.nj / 2, out = new Float64Array(6);
            for (var it = 0; it < 8; it++) {
                G.corner(a, b, out, 0);
                G.corner(a + 1, b, out, 2);
                G.corner(a, b + 1, out, 4);
                var ax = out[2] - out[0], ay = out[3] - out[1], bx = out[4] - out[0], by = out[5] - out[1];
                var det = ax * by - ay * bx;
                if (!det) { break; }
                var dx = x - out[0], dy = y - out[1];
                a += (dx * by - dy * bx) / det;
                b += (ax * dy - ay * dx) / det;
            }
            var i0 = Math.floor(a), j0 = Math.floor(b), xs = new Float64Array(4), ys = new Float64Array(4);
            var near = [0, -1, 1];
            for (var dj = 0; dj < 3; dj++) {
                for (var di = 0; di < 3; di++) {
                    var k = this.at(map, i0 + near[di], j0 + near[dj]);
                    if (k < 0) { continue; }
                    this.quad(map, k, xs, ys);
                    if (inRing(x, y, xs, ys, 0, 4)) { return k; }
                }
            }
        }
        var P = prep.poly;
        if (P) {
            var B = P.buckets, bi = Math.floor((x - B.x0) / B.sx), bj = Math.floor((y - B.y0) / B.sy);
            if (bi >= 0 && bj >= 0 && bi < B.N && bj < B.N) {
                var geom = this.poly.geom, list = B.cells[bj * B.N + bi];
                for (var n = 0; n < list.length; n++) {
                    var f = list[n];
                    if (x < P.box[4 * f] || x > P.box[4 * f + 2] || y < P.box[4 * f + 1] || y > P.box[4 * f + 3]) { continue; }
                    var inside = false;
                    for (var r = geom.pRing[geom.fPart[f]]; r < geom.pRing[geom.fPart[f + 1]]; r++) {
                        if (inRing(x, y, P.x, P.y, geom.rVert[r], geom.rVert[r + 1])) { inside = !inside; }
                    }
                    if (inside) { return this.poly.cell[f]; }
                }
            }
        }
        return -1;
    };

    /** Cell at grid position (i, j), or -1 (for outlines between neighbours). */
    C15.Cells.prototype.at = function (map, i, j) {
        var G = this.prepare(map).grid, g = this.grid;
        if (!G || i < 0 || j < 0 || i >= g.ni || j >= g.nj) { return -1; }
        var k = G.dense ? G.lookup[j * g.ni + i] : G.lookup.get(j * g.ni + i);
        return k === undefined ? -1 : k;
    };

    // CSS colours as [r, g, b, a] bytes.
    function rgbaBytes(colours) {
        var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d", {willReadFrequently: true});
        canvas.width = canvas.height = 1;
        return colours.map(function (colour) {
            ctx.clearRect(0, 0, 1, 1);
            ctx.fillStyle = colour;
            ctx.fillRect(0, 0, 1, 1);
            return Array.prototype.slice.call(ctx.getImageData(0, 0, 1, 1).data);
        });
    }

    // ---------------------------------------------------------------------------------
    // A canvas of cells (a Leaflet Renderer: it follows pans and zoom animations)
    // ---------------------------------------------------------------------------------
    var CHUNK = 1024;  // about this many grid cells per side of one image chunk

    /**
     * Draws cells by class: `look.cls(k)` gives each cell's class (-1: not drawn),
     * `look.fills` a colour per class; `look.edge(k)` (optional) an id whose changes between
     * grid neighbours are outlined. Clicks and hovers ask `look.popup(k)` / `look.tooltip(k)`.
     *
     * Grid cells are an image with one pixel per cell, drawn tile by tile of the control
     * lattice, each tile with its own affine transform (nearest-neighbour scaling): the cost
     * does not grow with the number of cells in view and neighbours meet without seams.
     * Cells that are not on the grid are drawn as paths.
     */
    C15.CellCanvas = L.Renderer.extend({
        options: {padding: 0.25, pane: "c15Cells", paneZ: 350, paneOpacity: 0.7},

        initialize: function (cells, look, options) {
            L.Renderer.prototype.initialize.call(this, options);
            this._cells = cells;
            this._look = look;
        },

        onAdd: function (map) {
            pane(map, this.options.pane, this.options.paneZ, this.options.paneOpacity);
            this._cells.prepare(map);
            L.Renderer.prototype.onAdd.call(this, map);
            C15.clicks(map).add(this);
        },

        onRemove: function (map) {
            C15.clicks(map).remove(this);
            this._onOut();
            this._drawnView = null;
            L.Renderer.prototype.onRemove.call(this, map);
        },

        _initContainer: function () {
            this._container = document.createElement("canvas");
            this._container.className = "c15-canvas";
            this._ctx = this._container.getContext("2d");
        },

        _destroyContainer: function () {
            L.DomUtil.remove(this._container);
            delete this._ctx;
            delete this._container;
        },

        getEvents: function () {
            var events = L.Renderer.prototype.getEvents.call(this);
            if (this._look.tooltip) {
                events.mousemove = this._onMove;
                events.mouseout = this._onOut;
            }
            return events;
        },

        _update: function () {
            if (this._map._animatingZoom && this._bounds) { return; }
            L.Renderer.prototype._update.call(this);
            var b = this._bounds, size = b.getSize(), r = window.devicePixelRatio || 1, canvas = this._container;
            // a view reset is followed by moveend: draw once per view
            var view = [this._zoom, b.min.x, b.min.y, b.max.x, b.max.y, this._map.getPixelOrigin().x,
                        this._map.getPixelOrigin().y, r].join();
            if (view === this._drawnView && canvas.width) { return; }
            this._drawnView = view;
            L.DomUtil.setPosition(canvas, b.min);
            canvas.width = Math.round(r * size.x);
            canvas.height = Math.round(r * size.y);
            canvas.style.width = size.x + "px";
            canvas.style.height = size.y + "px";
            this._draw(r);
            this.fire("update");
        },

        // Each cell's class, computed once.
        _classes: function () {
            if (this._cls) { return this._cls; }
            var n = this._cells.n, cls = new Int16Array(n);
            for (var k = 0; k < n; k++) { cls[k] = this._look.cls(k); }
            this._cls = cls;
            return cls;
        },

        // The grid as images (chunks of CHUNK x CHUNK cells, plus one overlapping row and
        // column so that a lattice tile at a chunk's edge can reach one cell beyond it).
        _images: function () {
            if (this._chunks) { return this._chunks; }
            var g = this._cells.grid, cls = this._classes(), colours = rgbaBytes(this._look.fills);
            // whole lattice tiles per chunk, so that a tile is drawn from one chunk
            var C = g.step * Math.max(1, Math.floor(CHUNK / g.step));
            var nci = Math.ceil(g.ni / C), ncj = Math.ceil(g.nj / C), chunks = [], data = [];
            for (var c = 0; c < nci * ncj; c++) {
                var w = Math.min(C + 1, g.ni - (c % nci) * C), h = Math.min(C + 1, g.nj - Math.floor(c / nci) * C);
                chunks.push({w: w, h: h, canvas: null});
                data.push(null);
            }
            for (var k = 0; k < this._cells.n; k++) {
                var i = g.i[k], j = g.j[k];
                if (i === g.none || cls[k] < 0) { continue; }
                var col = colours[cls[k]];
                // a cell belongs to its chunk, and to the chunk before it when on the overlap
                for (var dj = 0; dj < 2; dj++) {
                    var cj = Math.floor(j / C) - dj;
                    if (cj < 0 || (dj === 1 && j % C !== 0)) { continue; }
                    for (var di = 0; di < 2; di++) {
                        var ci = Math.floor(i / C) - di;
                        if (ci < 0 || (di === 1 && i % C !== 0)) { continue; }
                        var x = cj * nci + ci, ch = chunks[x];
                        if (!data[x]) { data[x] = new ImageData(ch.w, ch.h); }
                        var o = 4 * ((j - cj * C) * ch.w + (i - ci * C));
                        data[x].data[o] = col[0]; data[x].data[o + 1] = col[1];
                        data[x].data[o + 2] = col[2]; data[x].data[o + 3] = col[3];
                    }
                }
            }
            chunks.forEach(function (ch, x) {
                if (!data[x]) { return; }
                ch.canvas = document.createElement("canvas");
                ch.canvas.width = ch.w;
                ch.canvas.height = ch.h;
                ch.canvas.getContext("2d").putImageData(data[x], 0, 0);
            });
            this._chunks = {list: chunks, nci: nci, size: C};
            return this._chunks;
        },

        _draw: function (ratio) {
            var ctx = this._ctx, map = this._map, cells = this._cells, prep = cells.prepare(map);
            var s = map.getZoomScale(map.getZoom(), 0), origin = map.getPixelOrigin(), b = this._bounds;
            var view = {s: s, ox: origin.x + b.min.x, oy: origin.y + b.min.y, w: b.max.x - b.min.x, h: b.max.y - b.min.y, r: ratio};
            ctx.setTransform(1, 0, 0, 1, 0, 0);
            ctx.clearRect(0, 0, this._container.width, this._container.height);
            if (prep.grid) { this._drawGrid(ctx, prep.grid, view); }
            ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
            if (prep.poly) { this._drawPolygons(ctx, prep.poly, view); }
            if (this._look.edge) { this._drawEdges(ctx, view); }
            if (!C15.drawn) {
                C15.drawn = true;
                if (window.performance && performance.mark) { performance.mark("circle15-cells-drawn"); }
            }
        },

        // Lattice tiles are drawn in blocks of f x f, f chosen so that a block spans at most
        // ~256 px: each block's affine transform then stays within a fraction of a pixel of
        // the bilinear lattice (the bend of Web Mercator grows with the square of the block's
        // size, the pixels with it), and zoomed out the grid takes a few hundred drawImage
        // calls instead of one per tile.
        _drawGrid: function (ctx, G, v) {
            var g = this._cells.grid, images = this._images(), step = g.step, C = images.size;
            var tile = Math.hypot(G.cx[1] - G.cx[0], G.cy[1] - G.cy[0]) * v.s;  // px per tile
            var per = C / step, f = Math.max(1, Math.min(per, Math.pow(2, Math.floor(Math.log2(256 / Math.max(tile, 1e-9))))));
            ctx.imageSmoothingEnabled = false;
            for (var cj = 0; cj * C < g.nj; cj++) {
                for (var ci = 0; ci * C < g.ni; ci++) {
                    var ch = images.list[cj * images.nci + ci];
                    if (!ch.canvas) { continue; }
                    for (var bj = 0; bj < per; bj += f) {
                        for (var bi = 0; bi < per; bi += f) {
                            var ti = ci * per + bi, tj = cj * per + bj;
                            var u0 = ti * step, v0 = tj * step;
                            if (u0 >= g.ni || v0 >= g.nj) { continue; }
                            var t1 = Math.min(ti + f, g.cni - 1), tj1 = Math.min(tj + f, g.cnj - 1);
                            var k00 = tj * g.cni + ti, k10 = tj * g.cni + t1, k01 = tj1 * g.cni + ti, k11 = tj1 * g.cni + t1;
                            var xs = [G.cx[k00], G.cx[k10], G.cx[k01], G.cx[k11]], ys = [G.cy[k00], G.cy[k10], G.cy[k01], G.cy[k11]];
                            for (var c = 0; c < 4; c++) { xs[c] = xs[c] * v.s - v.ox; ys[c] = ys[c] * v.s - v.oy; }
                            if (Math.max(xs[0], xs[1], xs[2], xs[3]) < 0 || Math.min(xs[0], xs[1], xs[2], xs[3]) > v.w ||
                                Math.max(ys[0], ys[1], ys[2], ys[3]) < 0 || Math.min(ys[0], ys[1], ys[2], ys[3]) > v.h) { continue; }
                            var du = (t1 - ti) * step, dv = (tj1 - tj) * step;
                            var su = u0 - ci * C, sv = v0 - cj * C;
                            var sw = Math.min(du + 1, ch.w - su), sh = Math.min(dv + 1, ch.h - sv);
                            // image (u, v) -> screen: origin at the block's corner, du x dv cells
                            ctx.setTransform(v.r * (xs[1] - xs[0]) / du, v.r * (ys[1] - ys[0]) / du,
                                             v.r * (xs[2] - xs[0]) / dv, v.r * (ys[2] - ys[0]) / dv,
                                             v.r * xs[0], v.r * ys[0]);
                            ctx.drawImage(ch.canvas, su, sv, sw, sh, 0, 0, sw, sh);
                        }
                    }
                }
            }
        },

        _drawPolygons: function (ctx, P, v) {
            var cls = this._classes(), look = this._look, geom = this._cells.poly.geom, s = v.s;
            var byClass = this._polyOrder || (this._polyOrder = (function () {
                var out = look.fills.map(function () { return []; });
                for (var f = 0; f < geom.n; f++) {
                    var c = cls[this._cells.poly.cell[f]];
                    if (c >= 0) { out[c].push(f); }
                }
                return out;
            }).call(this));
            for (var c = 0; c < byClass.length; c++) {
                if (!byClass[c].length) { continue; }
                ctx.beginPath();
                byClass[c].forEach(function (f) {
                    var bx = P.box;
                    if (bx[4 * f + 2] * s - v.ox < 0 || bx[4 * f] * s - v.ox > v.w || bx[4 * f + 3] * s - v.oy < 0 || bx[4 * f + 1] * s - v.oy > v.h) { return; }
                    for (var r = geom.pRing[geom.fPart[f]]; r < geom.pRing[geom.fPart[f + 1]]; r++) {
                        var a = geom.rVert[r], z = geom.rVert[r + 1];
                        ctx.moveTo(P.x[a] * s - v.ox, P.y[a] * s - v.oy);
                        for (var x = a + 1; x < z; x++) { ctx.lineTo(P.x[x] * s - v.ox, P.y[x] * s - v.oy); }
                        ctx.closePath();
                    }
                });
                ctx.fillStyle = look.fills[c];
                ctx.fill("evenodd");
                // A hairline of the fill colour hides the seams anti-aliasing leaves between
                // neighbouring cells of different classes.
                ctx.strokeStyle = look.fills[c];
                ctx.lineWidth = 0.6;
                ctx.stroke();
            }
        },

        // Outline where a cell's edge id differs from its grid neighbour's (service areas),
        // once cells are big enough on screen to tell; cells off the grid are outlined whole.
        _drawEdges: function (ctx, v) {
            var map = this._map, cells = this._cells, prep = cells.prepare(map), g = cells.grid, look = this._look;
            var cls = this._classes(), s = v.s, xs = new Float64Array(4), ys = new Float64Array(4);
            ctx.beginPath();
            if (prep.grid) {
                var pt = new Float64Array(4);
                prep.grid.corner(0, 0, pt, 0);
                prep.grid.corner(1, 0, pt, 2);
                var size = Math.abs(pt[2] - pt[0]) * s;  // one cell, screen pixels
                for (var k = 0; k < cells.n && size >= 3; k++) {
                    if (cls[k] < 0 || g.i[k] === g.none) { continue; }
                    var i = g.i[k], j = g.j[k], id = look.edge(k);
                    prep.grid.corner(i, j, pt, 0);
                    var x0 = pt[0] * s - v.ox, y0 = pt[1] * s - v.oy;
                    if (x0 < -size || x0 > v.w + size || y0 < -size || y0 > v.h + size) { continue; }
                    cells.quad(map, k, xs, ys);
                    // neighbours below (j-1), right (i+1), above (j+1), left (i-1): edge c runs
                    // from corner c to corner c+1
                    var nb = [cells.at(map, i, j - 1), cells.at(map, i + 1, j), cells.at(map, i, j + 1), cells.at(map, i - 1, j)];
                    for (var c = 0; c < 4; c++) {
                        var m = nb[c];
                        if (m >= 0 && cls[m] >= 0 && look.edge(m) === id) { continue; }
                        var d = (c + 1) % 4;
                        ctx.moveTo(xs[c] * s - v.ox, ys[c] * s - v.oy);
                        ctx.lineTo(xs[d] * s - v.ox, ys[d] * s - v.oy);
                    }
                }
            }
            var P = prep.poly, geom = cells.poly && cells.poly.geom;
            if (P) {
                for (var f = 0; f < geom.n; f++) {
                    if (cls[cells.poly.cell[f]] < 0) { continue; }
                    for (var r = geom.pRing[geom.fPart[f]]; r < geom.pRing[geom.fPart[f + 1]]; r++) {
                        var a = geom.rVert[r], z = geom.rVert[r + 1];
                        ctx.moveTo(P.x[a] * s - v.ox, P.y[a] * s - v.oy);
                        for (var x = a + 1; x < z; x++) { ctx.lineTo(P.x[x] * s - v.ox, P.y[x] * s - v.oy); }
                        ctx.closePath();
                    }
                }
            }
            ctx.strokeStyle = look.stroke;
            ctx.lineWidth = look.weight || 1.5;
            ctx.stroke();
        },

        /** The cell of this layer under `latlng` (-1 when none is drawn there). */
        cellAt: function (latlng) {
            var k = this._cells.hit(this._map, latlng);
            return k >= 0 && this._classes()[k] >= 0 ? k : -1;
        },

        popupAt: function (latlng) {
            var k = this.cellAt(latlng);
            return k >= 0 && this._look.popup ? this._look.popup(k) : null;
        },

        _onMove: function (e) {
            var self = this;
            this._moveAt = e.latlng;
            if (this._moveQueued) { return; }
            this._moveQueued = true;
            L.Util.requestAnimFrame(function () {
                self._moveQueued = false;
                if (!self._map) { return; }
                var latlng = self._moveAt, k = self.cellAt(latlng), key = k >= 0 ? self._look.tooltipKey(k) : null;
                if (key === null) { self._onOut(); return; }
                if (!self._tip) { self._tip = L.tooltip({direction: "top", offset: [0, -6], className: "c15-tooltip"}); }
                if (key !== self._tipKey) { self._tip.setContent(self._look.tooltip(k)); self._tipKey = key; }
                self._tip.setLatLng(latlng);
                if (!self._map.hasLayer(self._tip)) { self._map.openTooltip(self._tip); }
            });
        },

        _onOut: function () {
            if (this._tip && this._map && this._map.hasLayer(this._tip)) { this._map.closeTooltip(this._tip); }
            this._tipKey = null;
        }
    });

    /** One popup per map click for all cell canvases on the map (in the order they were added). */
    C15.clicks = function (map) {
        if (map._c15Clicks) { return map._c15Clicks; }
        var layers = [];
        map.on("click", function (e) {
            var parts = [];
            layers.forEach(function (layer) {
                var content = layer.popupAt(e.latlng);
                if (content) { parts.push(content); }
            });
            if (!parts.length) { return; }
            var box = el("div", "c15-popups");
            parts.forEach(function (p) { box.appendChild(p); });
            L.popup({maxWidth: 340, maxHeight: 420}).setLatLng(e.latlng).setContent(box).openOn(map);
        });
        map._c15Clicks = {
            add: function (layer) { if (layers.indexOf(layer) < 0) { layers.push(layer); } },
            remove: function (layer) { var i = layers.indexOf(layer); if (i >= 0) { layers.splice(i, 1); } }
        };
        return map._c15Clicks;
    };

    /** Walking time of every cell to the nearest facility of one category. */
    C15.walking = function (options, spec, cells) {
        var v = C15.values(spec);
        return new C15.CellCanvas(cells, {
            fills: spec.colours,
            cls: function (k) { return v.tier[k]; },
            popup: function (k) {
                var t = v.t.get(k), f = v.near.get(k), fac = f === null ? null : spec.fac[f];
                return C15.card(spec.title, null, [
                    [spec.labels.cell, cells.id(k)],
                    [spec.labels.district, cells.district(k)],
                    [spec.labels.cohort, people(v.pop.get(k))],
                    [spec.labels.time, t === null ? spec.labels.unreachable : t.toFixed(1) + " " + spec.labels.minutes],
                    [spec.labels.tier, spec.tiers[v.tier[k]]],
                    [spec.labels.nearest, fac === null ? MISSING : (fac[1] ? fac[1] + " (" + fac[0] + ")" : fac[0])]
                ]);
            }
        }, {paneOpacity: options.opacity});
    };

    /** Decoded per-cell values of one category (shared by its walking and service-area layers). */
    C15.values = function (spec) {
        if (spec._decoded) { return spec._decoded; }
        var t = C15.numbers(spec.t), n = t.raw.length, tier = new Uint8Array(n), bounds = spec.bounds;
        for (var k = 0; k < n; k++) {
            var m = t.get(k), c = 0;
            if (m === null) { c = bounds.length + 1; } else { while (c < bounds.length && bounds[c] < m) { c++; } }
            tier[k] = c;
        }
        if (spec.fix) {
            var fk = C15.array(spec.fix.k), fv = C15.array(spec.fix.v);
            for (var x = 0; x < fk.length; x++) { tier[fk[x]] = fv[x]; }
        }
        var served = spec.served ? bytes(spec.served.b) : null;
        spec._decoded = {
            t: t, tier: tier, pop: C15.numbers(spec.pop), near: C15.numbers(spec.near),
            served: function (k) { return served !== null && ((served[k >> 3] >> (k & 7)) & 1) === 1; }
        };
        return spec._decoded;
    };

    /** Each facility's service area: the cells it is nearest to within the target time. */
    C15.serviceAreas = function (areas, spec, cells) {
        var v = C15.values(spec), stats = areas.stats;
        return new C15.CellCanvas(cells, {
            fills: [areas.fill],
            stroke: areas.colour,
            weight: 1.5,
            cls: function (k) { return v.served(k) ? 0 : -1; },
            edge: function (k) { return v.near.raw[k]; },
            popup: function (k) {
                var f = v.near.get(k);
                return f === null ? null : C15.card(stats.title, null, rowsOf(stats, f));
            },
            tooltipKey: function (k) { return v.near.get(k); },
            tooltip: function (k) {
                var row = stats.values[v.near.get(k)];
                return C15.card(null, null, [[stats.tooltip[0], row[0]], [stats.tooltip[1], row[1]]]);
            }
        }, {pane: "c15Areas", paneZ: 390, paneOpacity: 1});
    };

}(window.L));
