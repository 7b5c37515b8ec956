"""Sessions: a whole build as one resumable unit, kept in a folder of its own.

A session holds the build's answers, each step's state, an append-only event
log and a lock that the running build holds; ``run`` drives it, ``attach``
follows it from its event log, ``sessions`` lists them. Headless: no
Textual here (the TUI is a face on these modules).
"""
