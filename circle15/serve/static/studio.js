/* circle15 planning studio: the page's script (no framework, no network but its own API).
 *
 * Cells are drawn on one canvas from typed arrays (outlines once, minutes per category),
 * so a 20,000-cell city redraws in milliseconds; the cell under the pointer is found with
 * a bucket grid. Text that comes from input files (names of facilities, districts) is put
 * into the page with textContent only, never as HTML.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const S = {
    study: null, category: null, view: 'current', mode: 'inspect',
    current: {}, baseline: {}, state: null, suggestions: null,
    timings: [], queue: Promise.resolve(), pending: 0,
  };
  window.studio = S;

  // ------------------------------------------------------------------ helpers

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function decode(b64, Type) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
  const fmt = {
    pct: (x) => (x === null || x === undefined || !isFinite(x)) ? '—'
      : (Math.round(x * 1000) / 10).toFixed(1) + '%',
    pts: (x) => (x === null || !isFinite(x)) ? '—'
      : (x >= 0 ? '+' : '') + (Math.round(x * 1000) / 10).toFixed(1) + ' pt',
    n: (x) => (x === null || x === undefined || !isFinite(x)) ? '—'
      : Math.round(x).toLocaleString('en-US'),
    signed: (x) => (x === null || !isFinite(x)) ? '—'
      : (x >= 0 ? '+' : '−') + Math.round(Math.abs(x)).toLocaleString('en-US'),
    min: (x) => (x === null || x === undefined || !isFinite(x)) ? '—' : x.toFixed(1),
    num: (x, d) => (x === null || x === undefined || !isFinite(x)) ? '—' : x.toFixed(d),
  };
  function status(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status' + (kind ? ' ' + kind : '');
  }
  class ApiError extends Error {
    constructor(message, code) { super(message); this.code = code; }
  }
  async function api(method, path, body) {
    const t0 = performance.now();
    const init = {method, headers: {}};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const t1 = performance.now();
    let data;
    try { data = await res.json(); } catch (e) { data = {error: res.statusText}; }
    if (!res.ok) throw new ApiError(data.error || res.statusText, res.status);
    const st = res.headers.get('Server-Timing') || '';
    const m = /app;dur=([0-9.]+)/.exec(st);
    data._timing = {server: m ? parseFloat(m[1]) : NaN, fetch: performance.now() - t0,
      parse: performance.now() - t1};
    return data;
  }
  // Every action runs after the previous one: clicks made while a request is out wait.
  function run(label, work) {
    S.pending += 1;
    document.body.dataset.busy = '1';
    S.queue = S.queue.then(work).catch((e) => {
      status((e instanceof ApiError ? '' : '出错 error: ') + e.message, 'error');
    }).finally(() => {
      S.pending -= 1;
      if (S.pending === 0) delete document.body.dataset.busy;
    });
    return S.queue;
  }
  S.idle = () => S.queue;
  const cat = () => S.study.categories.find((c) => c.key === S.category);

  // ------------------------------------------------------------------ cells on a canvas

  const Cells = {
    build(payload) {
      const o = payload.origin;
      const rel = decode(payload.coords, Float32Array);
      this.ringStart = decode(payload.ring_start, Uint32Array);
      this.ringCell = decode(payload.ring_cell, Uint32Array);
      this.district = decode(payload.district, Int32Array);
      this.popTotal = decode(payload.pop_total, Float32Array);
      this.ids = payload.ids;
      const n = rel.length / 2;
      const xy = new Float64Array(rel.length);
      const crs = L.CRS.EPSG3857;
      for (let i = 0; i < n; i++) {  // zoom-0 pixel coordinates, projected once
        const p = crs.latLngToPoint(L.latLng(o[1] + rel[2 * i + 1], o[0] + rel[2 * i]), 0);
        xy[2 * i] = p.x; xy[2 * i + 1] = p.y;
      }
      this.xy = xy;
      const rings = this.ringStart.length - 1;
      const box = new Float64Array(rings * 4);
      let gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
      for (let r = 0; r < rings; r++) {
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (let v = this.ringStart[r]; v < this.ringStart[r + 1]; v++) {
          const x = xy[2 * v], y = xy[2 * v + 1];
          if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
        }
        box.set([x0, y0, x1, y1], r * 4);
        gx0 = Math.min(gx0, x0); gy0 = Math.min(gy0, y0);
        gx1 = Math.max(gx1, x1); gy1 = Math.max(gy1, y1);
      }
      this.box = box;
      // Bucket grid for finding the cell under the pointer.
      const g = Math.max(1, Math.ceil(Math.sqrt(rings)));
      const bw = (gx1 - gx0) / g || 1, bh = (gy1 - gy0) / g || 1;
      const buckets = Array.from({length: g * g}, () => []);
      for (let r = 0; r < rings; r++) {
        const i0 = Math.max(0, Math.floor((box[r * 4] - gx0) / bw));
        const i1 = Math.min(g - 1, Math.floor((box[r * 4 + 2] - gx0) / bw));
        const j0 = Math.max(0, Math.floor((box[r * 4 + 1] - gy0) / bh));
        const j1 = Math.min(g - 1, Math.floor((box[r * 4 + 3] - gy0) / bh));
        for (let i = i0; i <= i1; i++) for (let j = j0; j <= j1; j++) buckets[j * g + i].push(r);
      }
      this.grid = {g, x0: gx0, y0: gy0, bw, bh, buckets};
    },
    cellAt(latlng) {
      const p = L.CRS.EPSG3857.latLngToPoint(latlng, 0);
      const {g, x0, y0, bw, bh, buckets} = this.grid;
      const i = Math.floor((p.x - x0) / bw), j = Math.floor((p.y - y0) / bh);
      if (i < 0 || j < 0 || i >= g || j >= g) return -1;
      for (const r of buckets[j * g + i]) {
        const b = r * 4;
        if (p.x < this.box[b] || p.x > this.box[b + 2] || p.y < this.box[b + 1] ||
            p.y > this.box[b + 3]) continue;
        let inside = false;
        const s = this.ringStart[r], e = this.ringStart[r + 1];
        for (let v = s, w = e - 1; v < e; w = v++) {
          const xi = this.xy[2 * v], yi = this.xy[2 * v + 1];
          const xj = this.xy[2 * w], yj = this.xy[2 * w + 1];
          if ((yi > p.y) !== (yj > p.y) && p.x < (xj - xi) * (p.y - yi) / (yj - yi) + xi) {
            inside = !inside;
          }
        }
        if (inside) return this.ringCell[r];
      }
      return -1;
    },
  };

  const CellLayer = L.Layer.extend({
    onAdd(map) {
      this._canvas = L.DomUtil.create('canvas', 'cells-canvas');
      map.getPane('cells').appendChild(this._canvas);
      map.on('moveend zoomend resize viewreset', this.redraw, this);
      map.on('zoomstart', this._hide, this);
      this.redraw();
    },
    onRemove(map) {
      map.off('moveend zoomend resize viewreset', this.redraw, this);
      map.off('zoomstart', this._hide, this);
      this._canvas.remove();
    },
    _hide() { this._canvas.style.visibility = 'hidden'; },
    setClasses(classes, colours) {
      this._classes = classes; this._colours = colours; this._sorted = null;
      this.redraw();
    },
    _order() {  // rings sorted by colour class (counting sort), worked out once per classes
      if (this._sorted) return this._sorted;
      const {ringCell} = Cells, rings = ringCell.length, k = this._colours.length;
      const starts = new Uint32Array(k + 1);
      for (let r = 0; r < rings; r++) { const c = this._classes[ringCell[r]]; if (c >= 0) starts[c + 1]++; }
      for (let c = 0; c < k; c++) starts[c + 1] += starts[c];
      const fill = starts.slice(0, k), order = new Uint32Array(starts[k]);
      for (let r = 0; r < rings; r++) { const c = this._classes[ringCell[r]]; if (c >= 0) order[fill[c]++] = r; }
      this._starts = starts;
      this._sorted = order;
      return order;
    },
    redraw() {
      if (!this._map || !this._classes) return;
      const map = this._map, size = map.getSize(), dpr = window.devicePixelRatio || 1;
      const c = this._canvas;
      c.width = size.x * dpr; c.height = size.y * dpr;
      c.style.width = size.x + 'px'; c.style.height = size.y + 'px';
      const topLeft = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(c, topLeft);
      const ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      const s = Math.pow(2, map.getZoom()), origin = map.getPixelOrigin();
      const dx = -origin.x - topLeft.x, dy = -origin.y - topLeft.y;
      // One fill per few cells of a colour: Skia fills many small paths much faster than
      // one path of thousands of contours (measured: 20,000 cells in ~60 ms, not ~800).
      const CHUNK = 16;
      const {xy, ringStart, box} = Cells;
      const order = this._order(), starts = this._starts;
      for (let k = 0; k < this._colours.length; k++) {
        ctx.fillStyle = this._colours[k];
        ctx.beginPath();
        let n = 0;
        for (let j = starts[k]; j < starts[k + 1]; j++) {
          const r = order[j], b = r * 4;
          if (box[b + 2] * s + dx < 0 || box[b] * s + dx > size.x ||
              box[b + 3] * s + dy < 0 || box[b + 1] * s + dy > size.y) continue;
          const v0 = ringStart[r];
          ctx.moveTo(xy[2 * v0] * s + dx, xy[2 * v0 + 1] * s + dy);
          for (let v = v0 + 1; v < ringStart[r + 1]; v++) ctx.lineTo(xy[2 * v] * s + dx, xy[2 * v + 1] * s + dy);
          ctx.closePath();
          if (++n === CHUNK) { ctx.fill(); ctx.beginPath(); n = 0; }
        }
        if (n) ctx.fill();
      }
      c.style.visibility = 'visible';
    },
  });

  // ------------------------------------------------------------------ map and layers

  let map, cellLayer, facilityLayer, gapLayer, suggestLayer, legend, drag = null;

  function setupMap() {
    map = L.map('map', {minZoom: 3, maxZoom: 19, zoomSnap: 0.5});
    S.map = map;
    map.createPane('cells').style.zIndex = 350;
    map.fitBounds(S.study.bounds);
    cellLayer = new CellLayer().addTo(map);
    S.cellLayer = cellLayer;
    S.classesFor = classesFor;
    const outline = {color: '#333', weight: 1, fill: false, interactive: false};
    const zones = L.layerGroup(S.study.zones.map((rings) => L.polygon(
      rings.map((r) => r.map(([x, y]) => [y, x])), outline))).addTo(map);
    L.polygon(S.study.area.map((r) => r.map(([x, y]) => [y, x])),
      {color: '#111', weight: 2.5, fill: false, interactive: false}).addTo(map);
    gapLayer = L.layerGroup().addTo(map);
    facilityLayer = L.layerGroup().addTo(map);
    suggestLayer = L.layerGroup().addTo(map);
    const osm = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
      maxZoom: 19, attribution: '© OpenStreetMap contributors'});
    L.control.layers({'无底图 no basemap': L.layerGroup().addTo(map),
      'OpenStreetMap 底图 (需联网 online)': osm},
    {'街道界线 sub-districts': zones, '服务缺口 gaps (largest)': gapLayer,
      '设施 facilities': facilityLayer, '建议点 suggestions': suggestLayer},
    {collapsed: true}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
    legend = L.control({position: 'bottomleft'});
    legend.onAdd = () => L.DomUtil.create('div', 'legend');
    legend.addTo(map);
    map.on('click', onMapClick);
    map.on('mousemove', onDragMove);
    document.addEventListener('mouseup', onDragEnd);
  }

  function classesFor(category, view) {
    const c = S.study.categories.find((x) => x.key === category);
    const cur = S.current[category], base = S.baseline[category];
    const n = S.study.cells.count, out = new Int8Array(n);
    const tiers = c.tiers_min, beyond = tiers.length, unreachable = tiers.length + 1;
    if (view === 'change') {
      const colours = ['#1a9850', '#91cf60', '#fc8d59', '#d73027', '#d9d9d9'];
      for (let i = 0; i < n; i++) {
        const a = base.minutes[i], b = cur.minutes[i];
        const inA = a <= c.target_min, inB = b <= c.target_min;  // NaN compares false
        const faster = (isNaN(a) && !isNaN(b)) || b < a - 0.05;
        const slower = (!isNaN(a) && isNaN(b)) || b > a + 0.05;
        out[i] = (inB && !inA) ? 0 : faster ? 1 : (inA && !inB) ? 3 : slower ? 2 : 4;
      }
      return {classes: out, colours, labels: ['新覆盖 newly within target', '更近 shorter walk',
        '更远 longer walk', '新缺口 newly beyond target', '不变 unchanged']};
    }
    const m = (view === 'baseline' ? base : cur).minutes;
    for (let i = 0; i < n; i++) {
      const t = m[i];
      if (isNaN(t)) { out[i] = unreachable; continue; }
      let k = 0;
      while (k < tiers.length && t > tiers[k]) k++;
      out[i] = k;
    }
    const labels = tiers.map((t, i) => (i === 0 ? '0' : tiers[i - 1]) + '–' + t + ' min');
    labels.push('> ' + tiers[tiers.length - 1] + ' min', '不可达 unreachable');
    return {classes: out, colours: c.colours, labels, beyond, unreachable};
  }

  function drawLegend(spec) {
    const box = legend.getContainer();
    box.replaceChildren(el('div', cat().label + (S.view === 'change' ? ' · 变化 change' : ''), 'legend-title'));
    spec.labels.forEach((label, k) => {
      const row = el('div', null, 'legend-row');
      const sw = el('span', null, 'swatch');
      sw.style.background = spec.colours[k];
      row.append(sw, el('span', label));
      box.append(row);
    });
  }

  function drawCells() {
    const spec = classesFor(S.category, S.view);
    cellLayer.setClasses(spec.classes, spec.colours);
    drawLegend(spec);
  }

  function tooltip(lines) {
    const box = el('div');
    lines.forEach((line, i) => box.append(el(i === 0 ? 'strong' : 'div', line)));
    return box;
  }

  function drawFacilities() {
    facilityLayer.clearLayers();
    const layer = S.current[S.category];
    const colour = {existing: '#1f3b73', new: '#1a9641', moved: '#7b3294'};
    layer.facilities.forEach((f) => {
      const marker = L.circleMarker([f.lat, f.lon], {
        radius: f.status === 'existing' ? 5 : 7, color: '#fff', weight: 1.5,
        fillColor: colour[f.status], fillOpacity: 0.95, bubblingMouseEvents: false,
        className: 'facility facility-' + f.status,
      });
      marker.facility = f;
      const lines = [f.name, 'id ' + f.id + (f.district ? ' · ' + f.district : ''),
        '容量 capacity ' + (f.capacity === null ? '—' : fmt.n(f.capacity)),
        {existing: '现有 existing', new: '新增 new (studio)', moved: '已移动 moved (studio)'}[f.status]];
      if (!f.snapped) lines.push('离街道过远 farther than the snap limit from every street');
      marker.lines = lines;
      marker.bindTooltip(tooltip(lines), {direction: 'top', offset: [0, -6]});
      marker.on('click', (e) => onFacilityClick(e, marker));
      marker.on('mousedown', (e) => onDragStart(e, marker));
      marker.addTo(facilityLayer);
    });
  }

  function drawGaps() {
    gapLayer.clearLayers();
    const gaps = S.current[S.category].gaps;
    const c = cat();
    $('gaps-summary').textContent = gaps.count === 0 ? '无缺口 no gaps: every resident of the cohort is within ' + c.target_min + ' min'
      : fmt.n(gaps.count) + ' 个缺口 gaps · ' + fmt.n(gaps.population) + ' ' + c.cohort + ' · ' + fmt.num(gaps.area_km2, 2) + ' km²';
    const list = $('gaps');
    list.replaceChildren();
    gaps.top.forEach((g) => {
      const latlngs = g.outline.map((r) => r.map(([x, y]) => [y, x]));
      const poly = L.polygon(latlngs, {color: '#e31a1c', weight: 1.5, dashArray: '4 3',
        fill: false, bubblingMouseEvents: true});
      poly.bindTooltip(tooltip(['缺口 gap #' + g.rank + (g.district ? ' · ' + g.district : ''),
        fmt.n(g.population) + ' ' + c.cohort + ' · ' + fmt.num(g.area_km2, 2) + ' km²',
        '平均 mean ' + fmt.min(g.mean_min) + ' min' + (g.nearest_name ? ' · 最近 nearest ' + g.nearest_name : '')]), {sticky: true});
      poly.addTo(gapLayer);
      if (g.rank <= 10) {
        const li = el('li');
        const a = el('a', '#' + g.rank + ' ' + (g.district || '') + ': ' + fmt.n(g.population) + ' · ' + fmt.num(g.area_km2, 2) + ' km²');
        a.href = '#';
        a.addEventListener('click', (e) => { e.preventDefault(); map.fitBounds(poly.getBounds(), {maxZoom: 16}); });
        li.append(a);
        list.append(li);
      }
    });
  }

  // ------------------------------------------------------------------ side panel

  function districtName(d) {
    const z = S.study.districts.find((x) => x.district === d);
    return z ? d + ' ' + z.name_en : d;
  }
  function districtCell(d) {  // the name, with the English name as its tooltip
    const td = el('td', d === 'ALL' ? '全域 whole area' : d);
    const z = S.study.districts.find((x) => x.district === d);
    if (z) td.title = z.name_en;
    return td;
  }

  function drawCoverage() {
    const c = cat(), cur = S.current[S.category], base = S.baseline[S.category];
    const all = cur.districts.find((r) => r.district === 'ALL');
    const allBase = base.districts.find((r) => r.district === 'ALL');
    $('coverage').textContent = fmt.pct(all ? all.coverage : null);
    $('coverage-text').textContent = all ? fmt.n(all.covered_population) + ' / ' + fmt.n(all.population) +
      ' (' + c.cohort + ') 在 within ' + c.target_min + ' min · 不可达 unreachable ' + fmt.n(all.unreachable_population) : '';
    const delta = all && allBase ? all.coverage - allBase.coverage : null;
    $('coverage-base').textContent = '基线 baseline ' + fmt.pct(allBase ? allBase.coverage : null) +
      (delta !== null && S.state && S.state.edits.length ? ' · 变化 change ' + fmt.pts(delta) + ' (' +
      fmt.signed(all.covered_population - allBase.covered_population) + ')' : '');
  }

  function drawDistricts() {
    const body = $('districts').querySelector('tbody');
    body.replaceChildren();
    const base = S.baseline[S.category].districts;
    S.current[S.category].districts.forEach((r) => {
      const b = base.find((x) => x.district === r.district) || {};
      const tr = el('tr', null, r.district === 'ALL' ? 'all' : '');
      const d = (r.coverage !== null && b.coverage !== null && b.coverage !== undefined) ? r.coverage - b.coverage : null;
      const gained = r.covered_population - (b.covered_population || 0);
      const change = d === null ? '—' : (Math.abs(d) < 5e-5 && Math.abs(gained) < 0.5 ? '·' : fmt.pts(d) + ' (' + fmt.signed(gained) + ')');
      const norm = r.norm_ratio === null || r.norm_ratio === undefined ? '—' : fmt.pct(r.norm_ratio) + (r.norm_met ? ' ✓' : '');
      tr.append(districtCell(r.district));
      [fmt.pct(r.coverage), change, fmt.min(r.mean_min) + ' / ' + fmt.min(r.p90_min), fmt.n(r.unreachable_population),
        r.supply_ratio === null || r.supply_ratio === undefined ? '—' : r.supply_ratio.toPrecision(3), norm,
      ].forEach((v, i) => {
        const td = el('td', v);
        if (i === 1 && d !== null) td.className = d > 1e-9 ? 'up' : d < -1e-9 ? 'down' : '';
        tr.append(td);
      });
      body.append(tr);
    });
  }

  function drawIndex() {
    const body = $('index').querySelector('tbody');
    body.replaceChildren();
    const rows = S.state && S.state.index;
    const base = S.study.baseline.index || [];
    $('index-note').textContent = rows ? '0–100; 综合 composite = weighted mean of the three; 排名 rank among the sub-districts'
      : '本研究未计算指数 this study does not compute the index';
    (rows || []).forEach((r) => {
      const b = base.find((x) => x.district === r.district) || {};
      const d = r.composite !== null && b.composite !== undefined && b.composite !== null ? r.composite - b.composite : null;
      const tr = el('tr', null, r.district === 'ALL' ? 'all' : '');
      tr.append(districtCell(r.district));
      [fmt.num(r.accessibility, 1), fmt.num(r.balance, 1), fmt.num(r.quality, 1), fmt.num(r.composite, 1),
        d === null || Math.abs(d) < 0.05 ? '·' : (d > 0 ? '+' : '') + d.toFixed(1),
        r.rank === null ? '' : String(r.rank)].forEach((v, i) => {
        const td = el('td', v);
        if (i === 4 && d !== null && Math.abs(d) >= 0.05) td.className = d > 0 ? 'up' : 'down';
        tr.append(td);
      });
      body.append(tr);
    });
  }

  function drawEdits() {
    const st = S.state;
    $('undo').disabled = !st.can_undo;
    $('redo').disabled = !st.can_redo;
    $('reset').disabled = !st.edits.length;
    const list = $('edits');
    list.replaceChildren();
    st.edits.forEach((e) => {
      const c = S.study.categories.find((x) => x.key === e.category);
      const parts = [];
      if (e.added.length) parts.push('添加 add ' + e.added.join(', '));
      if (e.removed.length) parts.push('删除 remove ' + e.removed.join(', '));
      if (e.moved.length) parts.push('移动 move ' + e.moved.join(', '));
      list.append(el('li', (c ? c.name_zh + ' ' + c.name_en : e.category) + ': ' + parts.join('; ')));
    });
  }

  function render() {
    const parts = {};
    for (const [name, draw] of [['cells', drawCells], ['facilities', drawFacilities],
      ['gaps', drawGaps], ['coverage', drawCoverage], ['districts', drawDistricts],
      ['index', drawIndex], ['edits', drawEdits]]) {
      const t0 = performance.now();
      draw();
      parts[name] = performance.now() - t0;
    }
    S.lastRender = parts;
  }

  // ------------------------------------------------------------------ data

  function unpack(layer, keep) {
    layer.minutes = decode(layer.minutes, Float32Array);
    layer.nearest = decode(layer.nearest, Int32Array);
    layer.cohort = layer.cohort ? decode(layer.cohort, Float32Array) : keep && keep.cohort;
    return layer;
  }

  async function ensure(category) {
    if (!S.baseline[category]) {
      S.baseline[category] = unpack(await api('GET', 'api/layers/' + encodeURIComponent(category) + '?view=baseline'));
    }
    if (!S.current[category]) {
      S.current[category] = unpack(await api('GET', 'api/layers/' + encodeURIComponent(category)));
    }
  }

  // An answer of an edit, undo, redo, reset or load: the session's state and one layer.
  function take(answer, keepOthers) {
    S.state = answer.state;
    const k = answer.layer.category;
    const old = S.current[k] || S.baseline[k];
    if (!keepOthers) S.current = {};
    S.current[k] = unpack(answer.layer, old);
  }

  async function showCategory(key) {
    S.category = key;
    $('category').value = key;
    S.suggestions = null;
    suggestLayer.clearLayers();
    $('suggestions').replaceChildren();
    $('suggest-note').textContent = '';
    $('accept-all').hidden = true;
    await ensure(key);
    render();
  }

  // Resolves once the browser has painted the frame with the changes (after rAF).
  const painted = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

  function timed(action, t0, answer) {
    const entry = {action, category: S.category, ms: performance.now() - t0,
      server_ms: answer._timing.server, fetch_ms: answer._timing.fetch,
      parse_ms: answer._timing.parse, render: S.lastRender};
    S.timings.push(entry);
    return entry;
  }

  function edit(action, body) {
    const t0 = performance.now();
    return run(action, async () => {
      status('计算中 computing…');
      const answer = await api('POST', 'api/edit', Object.assign({category: S.category, show: S.category}, body));
      take(answer, true);
      await ensure(S.category);
      render();
      await painted();
      const t = timed(action, t0, answer);
      status('已更新 updated in ' + Math.round(t.ms) + ' ms (server ' + Math.round(t.server_ms) + ' ms)');
    });
  }

  function step(action) {
    const t0 = performance.now();
    return run(action, async () => {
      const answer = await api('POST', 'api/' + action, {category: S.category});
      take(answer, false);
      await ensure(S.category);
      render();
      await painted();
      timed(action, t0, answer);
      status({undo: '已撤销 undone', redo: '已重做 redone', reset: '已回到基线 back to the baseline'}[action]);
    });
  }

  // ------------------------------------------------------------------ map interaction

  function setMode(mode) {
    S.mode = mode;
    ['inspect', 'add', 'move', 'remove'].forEach((m) => $('mode-' + m).classList.toggle('active', m === mode));
    $('add-options').hidden = mode !== 'add';
    $('map').dataset.mode = mode;
    $('mode-help').textContent = {
      inspect: '点击格网查看 click a cell or a facility for its figures',
      add: '点击地图任意处添加设施 click anywhere on the map to add a facility there',
      move: '拖动设施到新位置 drag a facility to its new place',
      remove: '点击设施将其删除 click a facility to close it',
    }[mode];
  }

  function addAt(latlng) {
    const site = {lon: latlng.lng, lat: latlng.lat};
    const name = $('add-name').value.trim();
    const cap = $('add-capacity').value.trim();
    if (name) site.name = name;
    if (cap !== '') {
      const v = Number(cap);
      if (!isFinite(v) || v < 0) { status('容量须为非负数 capacity must be a number ≥ 0', 'error'); return; }
      site.capacity = v;
    }
    edit('add', {add: [site]});
  }

  function onMapClick(e) {
    if (S.mode === 'add') { addAt(e.latlng); return; }
    if (S.mode !== 'inspect') return;
    const i = Cells.cellAt(e.latlng);
    if (i < 0) return;
    const c = cat(), cur = S.current[S.category], base = S.baseline[S.category];
    const d = Cells.district[i];
    const near = cur.nearest[i] >= 0 ? cur.facilities[cur.nearest[i]] : null;
    const lines = ['格网 cell ' + Cells.ids[i] + (d >= 0 ? ' · ' + districtName(S.study.districts[d].district) : ''),
      '居民 residents ' + fmt.n(Cells.popTotal[i]) + ' · ' + c.cohort + ' ' + fmt.n(cur.cohort[i]),
      '步行 walk ' + (isNaN(cur.minutes[i]) ? '不可达 unreachable' : fmt.min(cur.minutes[i]) + ' min') +
        (S.state.edits.length ? ' (基线 baseline ' + (isNaN(base.minutes[i]) ? '—' : fmt.min(base.minutes[i])) + ')' : ''),
      '最近 nearest ' + (near ? near.name : '—')];
    L.popup().setLatLng(e.latlng).setContent(tooltip(lines)).openOn(map);
  }

  function onFacilityClick(e, marker) {
    L.DomEvent.stop(e);
    const f = marker.facility;
    if (S.mode === 'add') addAt(e.latlng);
    else if (S.mode === 'remove') edit('remove', {remove: [f.id]});
    else if (S.mode === 'inspect') {
      L.popup().setLatLng(marker.getLatLng()).setContent(tooltip(marker.lines)).openOn(map);
    }
  }

  function onDragStart(e, marker) {
    if (S.mode !== 'move') return;
    L.DomEvent.stop(e);
    map.dragging.disable();
    drag = {marker, from: marker.getLatLng(), moved: false};
  }
  function onDragMove(e) {
    if (!drag) return;
    drag.moved = true;
    drag.marker.setLatLng(e.latlng);
  }
  function onDragEnd() {
    if (!drag) return;
    const {marker, from, moved} = drag;
    drag = null;
    map.dragging.enable();
    if (!moved) return;
    const to = marker.getLatLng();
    if (to.equals(from)) return;
    // Redrawn from the answer (or, when the move is refused, back where it was).
    edit('move', {move: [{id: marker.facility.id, lon: to.lng, lat: to.lat}]}).then(drawFacilities);
  }

  // ------------------------------------------------------------------ suggestions

  function suggest() {
    const p = parseInt($('suggest-p').value, 10);
    const max = S.study.limits.suggest;
    if (!(p >= 1 && p <= max)) { status('p 须在 1 到 ' + max + ' 之间 p must be 1 to ' + max, 'error'); return; }
    const t0 = performance.now();
    run('suggest', async () => {
      status('选址计算中 choosing sites…');
      const answer = await api('POST', 'api/sites', {category: S.category, p});
      S.suggestions = answer;
      timed('suggest', t0, answer);
      drawSuggestions();
      status('建议 ' + answer.sites.length + ' 个选址 sites suggested (' + answer.method + ')');
    });
  }

  function drawSuggestions() {
    suggestLayer.clearLayers();
    const list = $('suggestions');
    list.replaceChildren();
    const a = S.suggestions;
    if (!a) return;
    const c = cat();
    const notes = [a.candidates.toLocaleString('en-US') + ' 候选点 candidates; ' +
      (a.method === 'exact' ? '精确最优 exact optimum (better than greedy)' : '贪心 greedy') +
      (a.exact ? (a.exact.optimal ? '; 精确解 exact optimum ' + fmt.n(a.exact.value) + ' vs greedy ' + fmt.n(a.greedy_value)
        : '; 精确求解超时 exact solver stopped at its time limit') : '')].concat(a.notes);
    $('suggest-note').textContent = notes.join(' · ');
    $('accept-all').hidden = a.sites.length === 0;
    a.sites.forEach((s) => {
      const icon = L.divIcon({className: 'suggest-icon' + (s.accepted ? ' accepted' : ''),
        html: String(s.rank), iconSize: [22, 22]});
      const lines = ['建议点 suggestion #' + s.rank + (s.accepted ? ' (已采纳 accepted)' : ''), s.name,
        '+' + fmt.n(s.marginal_gain) + ' ' + c.cohort + ' → ' + fmt.pct(s.coverage_after)];
      const marker = L.marker([s.lat, s.lon], {icon, keyboard: false}).bindTooltip(tooltip(lines));
      marker.on('click', (e) => {
        L.DomEvent.stop(e);
        if (S.mode === 'add') addAt(e.latlng);
        else L.popup().setLatLng(e.latlng).setContent(tooltip(lines)).openOn(map);
      });
      marker.addTo(suggestLayer);
      const li = el('li');
      li.dataset.rank = String(s.rank);
      li.append(el('span', '#' + s.rank + ' ' + (s.district || '') + ' +' + fmt.n(s.marginal_gain) + ' ' + c.cohort + ' → ' + fmt.pct(s.coverage_after) + ' '));
      const b = el('button', s.accepted ? '已采纳 accepted' : '采纳 accept');
      b.type = 'button';
      b.disabled = !!s.accepted;
      b.dataset.testid = 'accept-' + s.rank;
      b.addEventListener('click', () => accept([s]));
      li.append(b);
      list.append(li);
    });
  }

  function accept(sites) {
    const todo = sites.filter((s) => !s.accepted);
    if (!todo.length) return;
    todo.forEach((s) => { s.accepted = true; });
    const suggestions = S.suggestions;
    edit('accept', {add: todo.map((s) => ({lon: s.lon, lat: s.lat, name: '建议点 suggested site ' + s.rank}))}).then(() => {
      S.suggestions = suggestions;
      drawSuggestions();
    });
  }

  // ------------------------------------------------------------------ files

  function link(href, text) {
    const a = el('a', text);
    a.href = href;
    return a;
  }

  function saveScenario() {
    const name = $('scenario-name').value.trim();
    run('save', async () => {
      const a = await api('POST', 'api/scenario/save', {name, title: S.study.title + ' — studio'});
      const box = $('files');
      box.replaceChildren(el('div', '已保存 saved ' + a.path), el('code', a.command),
        el('div'));
      box.lastChild.append(link('api/scenario/' + encodeURIComponent(a.name) + '.toml', '下载 download ' + a.name + '.toml'));
      box.lastChild.firstChild.setAttribute('download', a.name + '.toml');
      status('方案已保存 scenario saved');
    });
  }

  function loadScenario(file) {
    run('load', async () => {
      const text = await file.text();
      const answer = await api('POST', 'api/scenario/load', {text, filename: file.name});
      take(answer, false);
      await showCategory(answer.layer.category);
      status('已载入方案 scenario loaded: ' + file.name);
    });
  }

  function exportOutputs() {
    const folder = $('export-folder').value.trim();
    run('export', async () => {
      status('导出中 writing the outputs…');
      const a = await api('POST', 'api/export', {folder});
      $('files').replaceChildren(el('div', '已导出 written to ' + a.folder), el('div', a.files.join(', ')));
      status('已导出 exported');
    });
  }

  // ------------------------------------------------------------------ progress

  const STATUS = {opened: '新增 opened', closed: '关闭 closed', moved: '迁移 moved',
    kept: '容量变化 capacity changed'};
  const MET = {met: '达成 met', 'not met': '未达成 not met',
    'needs a comparison': '需对比 needs a comparison'};

  function fixed(x, digits) {
    return x === null || x === undefined ? '—' : Number(x).toLocaleString('en-US', {maximumFractionDigits: digits});
  }

  function compareBaseline() {
    run('diff', async () => {
      const a = await api('GET', 'api/diff');
      $('diff-summary').replaceChildren(...a.summary.concat(a.notes).map((line) => el('li', line)));
      const table = $('diff-targets');
      const body = table.querySelector('tbody');
      body.replaceChildren();
      (a.targets || []).forEach((t) => {
        const row = el('tr');
        row.append(el('td', t.target), el('td', fixed(t.wanted, 2)), el('td', fixed(t.achieved, 2)),
          el('td', MET[t.status] || t.status));
        row.title = t.note;
        body.append(row);
      });
      table.hidden = !(a.targets && a.targets.length);
      $('diff-facilities').replaceChildren(...a.facilities.map((f) => el('li',
        (STATUS[f.status] || f.status) + ': ' + f.name + ' (' + f.facility_id + ', ' + f.category + ')')));
      status('已对比基线 compared with the baseline: ' + a.facilities.length + ' facilities changed');
    });
  }

  // ------------------------------------------------------------------ start

  async function start() {
    S.study = await api('GET', 'api/study');
    Cells.build(S.study.cells);
    S.state = await api('GET', 'api/state');
    const select = $('category');
    S.study.categories.forEach((c) => {
      const o = el('option', c.label);
      o.value = c.key;
      select.append(o);
    });
    setupMap();
    select.addEventListener('change', () => run('category', () => showCategory(select.value)));
    $('view').addEventListener('change', () => { S.view = $('view').value; drawCells(); });
    ['inspect', 'add', 'move', 'remove'].forEach((m) => $('mode-' + m).addEventListener('click', () => setMode(m)));
    $('undo').addEventListener('click', () => step('undo'));
    $('redo').addEventListener('click', () => step('redo'));
    $('reset').addEventListener('click', () => step('reset'));
    $('suggest').addEventListener('click', suggest);
    $('suggest-p').max = String(S.study.limits.suggest);
    $('accept-all').addEventListener('click', () => S.suggestions && accept(S.suggestions.sites));
    $('save-scenario').addEventListener('click', saveScenario);
    $('export').addEventListener('click', exportOutputs);
    $('diff').addEventListener('click', compareBaseline);
    $('load-scenario').addEventListener('change', (e) => {
      if (e.target.files.length) loadScenario(e.target.files[0]);
      e.target.value = '';
    });
    setMode('inspect');
    const first = S.state.edits.length ? S.state.edits[S.state.edits.length - 1].category : S.study.categories[0].key;
    await showCategory(first);
    status('就绪 ready · ' + S.study.cells.count.toLocaleString('en-US') + ' cells');
    document.body.dataset.ready = '1';
  }

  run('start', start);
})();
