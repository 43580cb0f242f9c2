"""The planning rules, as functions on GeoDataFrames, a :class:`~wlgeo.model.pack.LayerPack` and a
:class:`~wlgeo.model.scenario.Scenario`: constraint metrics (:mod:`.overlay`), decisions and
consolidation (:mod:`.classify`), towns (:mod:`.towns`), the summary and caps (:mod:`.summary`),
line of sight (:mod:`.visibility`), new sites (:mod:`.siting`), districts and partitions
(:mod:`.districts`, :mod:`.partitions`, :mod:`.cluster`) and the result (:mod:`.result`).
It imports only :mod:`wlgeo.model`. See ARCHITECTURE.md."""
