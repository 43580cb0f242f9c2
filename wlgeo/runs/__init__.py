"""Runs: planning a pack (:mod:`.planning`), writing the run directory (:mod:`.writer`; its file names
in :mod:`.layout`, its ``manifest.json`` in :mod:`.manifest`), reading it back (:mod:`.reader`,
:mod:`.sheets`), city runs (:mod:`.city`) and the demo (:mod:`.demo`). See ARCHITECTURE.md."""
