{#- Open on the study area at once (no zoom animation while the page loads). -#}
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.fitBounds({{ this.bounds|script_json }}, {animate: false});
{% endmacro %}
