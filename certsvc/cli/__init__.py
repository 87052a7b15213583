"""The ``certsvc`` command line: one module per area, all registered in :mod:`certsvc.cli.main`.

:mod:`~certsvc.cli.context` holds what every command is handed; a command module imports it,
never the root group, so the root can import every command module without a cycle.
"""
