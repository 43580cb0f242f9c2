"""Scenario review: compare two plans (:mod:`.compare`), map the changes (:mod:`.diffmap`), sweep a
parameter (:mod:`.sweep`) and diff two run directories (:mod:`.diff`). See ARCHITECTURE.md."""
