"""The vocabulary every layer shares: canonical layers and fields (:mod:`.schema`), the
:class:`~wlgeo.model.pack.LayerPack`, layer sources (:mod:`.sources`), decisions and their labels
(:mod:`.decisions`), reason records (:mod:`.reasons`), CRS rules (:mod:`.crs`), value parsers
(:mod:`.values`), the scenario (:mod:`.scenario`), the memory budget (:mod:`.resources`) and the
errors (:mod:`.errors`). It imports nothing else from wlgeo. See ARCHITECTURE.md."""
