"""What several test files build or check with, one module per kind.

- ``studies``: the small 1 km grid study written to disk in real formats
  (``write_small_study``), edits to it, a scenario for it, metres to longitude/latitude;
- ``messy``: the files district offices really send, from a seed, with the truth planted
  (synthetic);
- ``results``: a hand-made ``CoverageResult`` (``make_result``), network issues and a
  comparison with an official table for it;
- ``report_studies``: seeded runs for the report tests (many sub-districts, hostile names);
- ``osm_files``: OpenStreetMap files written by hand with pyosmium (``write_osm``,
  ``quirks_file``);
- ``overpass_emulator``: a local Overpass API answering osmnx from an OSM file;
- ``runs``: the command line in its own process, paused or failed at known points;
- ``browser``: Debian's Chromium through Playwright, offline;
- ``pages``: reading back a built map's layers and an HTML page's tags;
- ``svg_paths``: the printed maps' SVG paths read back as shapely areas;
- ``oracles``: networkx routing oracles and the output-folder oracle.
"""
