"""The core: disputes, their lifecycle, deadlines, arbitration, audit and policy."""
