"""The seller's violation ledger, the penalty ladder, standing and T&S review (DESIGN §5).

Nothing here yet: the penalties issue fills it. Imports arbitration, never the reverse.
"""
