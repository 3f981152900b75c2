{#- Data several layers share (the cells, a category's cell values, the sub-districts). -#}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {% if this.factory %}new L.Circle15.{{ this.factory }}({{ this.data|script_json }}){% else %}{{ this.data|script_json }}{% endif %};
{% endmacro %}
