"""Reports, satisfaction and transparency (DESIGN §7): how disputes go, in aggregate and in public.

A satellite of the core: it reads the core's tables with aggregate queries, keeps its own
``feedback`` table, and reacts to ``DisputeClosed`` through a handler registered by ``api.wiring``.
The core never imports it.
"""
