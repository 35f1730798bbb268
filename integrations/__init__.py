"""Provider code for Switchyard: clients, payload rules and sandbox emulators.

Nothing in this package imports Django: the console (``dashboard``) depends on it,
never the other way round.
"""
