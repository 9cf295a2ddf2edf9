"""Evidence the parties submit: sniffing, limits, content-addressed storage, visibility (DESIGN §3).

Nothing here yet: the evidence issue fills it. Imports arbitration, never the reverse.
"""
