/* circle15 map runtime, 3 of 3: vector features, facility markers, numbered sites, the
 * grouped layer control and the legend that follows it.
 */
(function (L) {
    "use strict";

    var C15 = L.Circle15, U = C15.util, el = U.el, cardOf = U.cardOf;
    var featureLatLngs = U.featureLatLngs, pane = U.pane;

    // ---------------------------------------------------------------------------------
    // Vector features: polygons, lines and points with DOM popups and tooltips
    // ---------------------------------------------------------------------------------
    var KINDS = ["polygon", "line", "point"];

    /** Features of `spec.geom` (or of a shared geometry) styled by class, lazily built. */
    C15.vectors = function (spec, shared) {
        return new C15.Lazy(function (group) {
            var g = C15.geometry(shared ? shared.geom : spec.geom);
            if (shared && !shared._decoded) { shared._decoded = g; }
            var renderer = spec.canvas ? L.canvas({padding: 0.5}) : undefined;
            for (var f = 0; f < g.n; f++) {
                var cls = spec.cls ? spec.cls[f] : 0;
                if (cls < 0) { continue; }
                var base = spec.style[cls], style = L.extend({interactive: !!(spec.popup || spec.tooltip)}, base);
                if (renderer) { style.renderer = renderer; }
                var kind = KINDS[spec.kinds ? spec.kinds[f] : 0], layer;
                if (kind === "point") {
                    layer = L.circleMarker([g.lat[g.rVert[g.pRing[g.fPart[f]]]], g.lng[g.rVert[g.pRing[g.fPart[f]]]]], style);
                } else if (kind === "line") {
                    layer = L.polyline(featureLatLngs(g, f, kind), style);
                } else {
                    layer = L.polygon(featureLatLngs(g, f, kind), style);
                }
                layer.circle15Feature = f;
                if (spec.popup) { layer.bindPopup(popupFor(spec.popup, f), {maxWidth: 360}); }
                if (spec.tooltip) { layer.bindTooltip(popupFor(spec.tooltip, f), {sticky: true, className: "c15-tooltip"}); }
                if (spec.highlight) { highlight(layer, spec.highlight, base); }
                group.addLayer(layer);
            }
        });
    };

    function popupFor(spec, f) {
        return function () { return cardOf(spec, f); };
    }

    function highlight(layer, on, off) {
        layer.on("mouseover", function () { layer.setStyle(on); });
        layer.on("mouseout", function () { layer.setStyle(off); });
    }

    // ---------------------------------------------------------------------------------
    // Facilities: clustered markers with the category's icon
    // ---------------------------------------------------------------------------------
    C15.facilities = function (spec) {
        return new C15.Lazy(function (group) {
            function icon(markup) {
                // The icon markup is circle15's own SVG (no input text in it).
                return L.divIcon({html: markup, className: "c15-fac-icon", iconSize: [26, 26],
                                  iconAnchor: [13, 13], popupAnchor: [0, -12]});
            }
            var filled = icon(spec.filled), hollow = icon(spec.hollow);
            var cluster = L.markerClusterGroup({
                showCoverageOnHover: false,
                maxClusterRadius: 40,
                disableClusteringAtZoom: spec.uncluster,
                iconCreateFunction: function (c) {
                    var disc = el("div", null, c.getChildCount());
                    disc.style.background = spec.colour;
                    return L.divIcon({html: disc, className: "c15-cluster", iconSize: [32, 32]});
                }
            });
            cluster.circle15Category = spec.key;
            var markers = [];
            for (var i = 0; i < spec.lat.length; i++) {
                var m = L.marker([spec.lat[i], spec.lng[i]], {
                    icon: spec.snapped[i] ? filled : hollow, title: spec.popup.titles[i], alt: spec.popup.titles[i]
                });
                m.bindPopup(popupFor(spec.popup, i), {maxWidth: 360});
                markers.push(m);
            }
            cluster.addLayers(markers);
            group.addLayer(cluster);
        });
    };

    /** Numbered markers (new sites): a disc with the number, a tooltip. */
    C15.badges = function (spec) {
        return new C15.Lazy(function (group, map) {
            pane(map, "c15Badges", 660);
            for (var i = 0; i < spec.lat.length; i++) {
                var disc = el("div", "c15-badge", spec.numbers[i]);
                disc.style.background = spec.colour;
                var m = L.marker([spec.lat[i], spec.lng[i]], {
                    pane: "c15Badges",
                    icon: L.divIcon({html: disc, className: "c15-badge-icon", iconSize: [26, 26], iconAnchor: [13, 13]})
                });
                m.bindTooltip(popupFor(spec.tooltip, i), {className: "c15-tooltip"});
                group.addLayer(m);
            }
        });
    };

    // ---------------------------------------------------------------------------------
    // Layer control with a heading (and a box) per group; legend that follows it
    // ---------------------------------------------------------------------------------
    C15.LayerControl = L.Control.Layers.extend({
        options: {collapsed: false, position: "topright", autoZIndex: false, sortLayers: false},

        initialize: function (options) {
            L.Control.Layers.prototype.initialize.call(this, {}, {}, options);
            this.circle15Layers = {};   // full name -> layer
            this.circle15Ids = {};      // legend id -> layer
        },

        /** A basemap (one shown at a time). */
        addBase: function (layer, name, id) {
            this._addLayer(layer, name);
            this._layers[this._layers.length - 1].circle15Id = id;
            this.circle15Ids[id] = layer;
            return this;
        },

        /** An overlay under `group` ("" for none); `id` is what the legend refers to. */
        addGrouped: function (layer, name, group, id) {
            this._addLayer(layer, name, true);
            var obj = this._layers[this._layers.length - 1];
            obj.group = group;
            obj.circle15Id = id;
            this.circle15Layers[group ? group + " \u00b7 " + name : name] = layer;
            this.circle15Ids[id] = layer;
            return this;
        },

        onAdd: function (map) {
            var container = L.Control.Layers.prototype.onAdd.call(this, map);
            var self = this, watched = {};
            Object.keys(this.circle15Ids).forEach(function (id) { watched[L.stamp(self.circle15Ids[id])] = true; });
            // Layers inside a group fire layeradd too (thousands of markers): react to ours only.
            map.on("layeradd layerremove", function (e) {
                if (watched[L.stamp(e.layer)]) { self.syncLegend(); }
            });
            setTimeout(function () { self.syncLegend(); }, 0);
            return container;
        },

        _update: function () {
            this._groupBoxes = {};
            L.Control.Layers.prototype._update.call(this);
            this._syncGroups();
            return this;
        },

        _addItem: function (obj) {
            var label = document.createElement("label"), checked = this._map.hasLayer(obj.layer), input;
            if (obj.overlay) {
                input = document.createElement("input");
                input.type = "checkbox";
                input.className = "leaflet-control-layers-selector";
                input.defaultChecked = checked;
            } else {
                input = this._createRadioElement("leaflet-base-layers_" + L.Util.stamp(this), checked);
            }
            this._layerControlInputs.push(input);
            input.layerId = L.Util.stamp(obj.layer);
            L.DomEvent.on(input, "click", this._onInputClick, this);
            var holder = el("span", null, null, label);
            holder.appendChild(input);
            el("span", null, " " + obj.name, holder);
            var parent = obj.overlay ? this._groupBox(obj.group || "") : this._baseLayersList;
            parent.appendChild(label);
            input.groupName = obj.group || "";
            this._checkDisabledLayers();
            return label;
        },

        _groupBox: function (name) {
            if (this._groupBoxes[name]) { return this._groupBoxes[name].box; }
            var box = el("div", "leaflet-control-layers-group", null, this._overlaysList);
            var head = el("label", "leaflet-control-layers-group-label", null, box), selector = null;
            if (name) {
                selector = document.createElement("input");
                selector.type = "checkbox";
                selector.className = "leaflet-control-layers-group-selector";
                head.appendChild(selector);
                L.DomEvent.on(selector, "click", function () { this._onGroupClick(name, selector.checked); }, this);
            } else {
                head.style.display = "none";
            }
            el("span", "leaflet-control-layers-group-name", name, head);
            this._groupBoxes[name] = {box: box, selector: selector};
            return box;
        },

        _onGroupClick: function (name, on) {
            this._layerControlInputs.forEach(function (input) {
                if (input.groupName === name && input.type === "checkbox") { input.checked = on; }
            });
            this._onInputClick();
        },

        _onInputClick: function () {
            L.Control.Layers.prototype._onInputClick.call(this);
            this._syncGroups();
            this.syncLegend();
        },

        // A heading's box is ticked when all of its layers are on.
        _syncGroups: function () {
            var boxes = this._groupBoxes || {}, inputs = this._layerControlInputs || [];
            Object.keys(boxes).forEach(function (name) {
                var sel = boxes[name].selector;
                if (!sel) { return; }
                var mine = inputs.filter(function (i) { return i.groupName === name && i.type === "checkbox"; });
                sel.checked = mine.length > 0 && mine.every(function (i) { return i.checked; });
            });
        },

        /** Show each legend entry while one of the layers it names ([data-layers]) is on. */
        syncLegend: function () {
            var map = this._map, byId = this.circle15Ids;
            if (!map) { return; }
            this._syncGroups();
            var sections = document.querySelectorAll("[data-layers]");
            Array.prototype.forEach.call(sections, function (node) {
                var wanted = node.getAttribute("data-layers").split(" ");
                node.hidden = !wanted.some(function (id) { return byId[id] && map.hasLayer(byId[id]); });
            });
        }
    });

    /** Move the page's legend element (written by the template) into a map control. */
    C15.legend = function (map, elementId, position) {
        var control = L.control({position: position || "bottomleft"});
        control.onAdd = function () {
            var node = document.getElementById(elementId);
            node.hidden = false;
            L.DomEvent.disableClickPropagation(node);
            L.DomEvent.disableScrollPropagation(node);
            return node;
        };
        control.addTo(map);
        return control;
    };
}(window.L));
