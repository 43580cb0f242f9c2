"""What a plan becomes for people: one style spec (:mod:`.style`), the offline maps (:mod:`.maps`,
:mod:`.webmap`, shared parts in :mod:`.mapkit`), the printable sheet (:mod:`.sheet`), tables
(:mod:`.tables`), styled GeoPackages (:mod:`.geopackage`, :mod:`.qgis_style`) and the batch
export (:mod:`.export`). It imports :mod:`wlgeo.engine`, :mod:`wlgeo.io` and :mod:`wlgeo.model`.
See ARCHITECTURE.md."""
