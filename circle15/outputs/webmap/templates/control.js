{#- The layer control: basemaps, then each group's overlays under its heading. -#}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = new L.Circle15.LayerControl({{ this.options|script_json }});
{% for name, layer in this.base_layers %}
{{ this.get_name() }}.addBase({{ layer.get_name() }}, {{ name|script_json }}, {{ layer.get_name()|script_json }});
{% endfor %}
{% for group, entries in this.groups %}
{% for name, layer in entries %}
{{ this.get_name() }}.addGrouped({{ layer.get_name() }}, {{ name|script_json }}, {{ group|script_json }}, {{ layer.get_name()|script_json }});
{% endfor %}
{% endfor %}
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
