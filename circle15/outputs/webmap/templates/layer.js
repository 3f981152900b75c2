{#- A circle15 layer: the runtime builds it from its data and the shared data it refers to. -#}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.Circle15.{{ this.factory }}({{ this.data|script_json }}{% for ref in this.refs %}, {{ ref.get_name() }}{% endfor %});
{% endmacro %}
