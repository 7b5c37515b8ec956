"""The wizard's face: a Textual app that walks the recipe screen by screen.

Nothing here holds recipe logic: the screens show engine state (checks,
inspections, a session's event log) and call engine functions. The package
is imported only by the CLI's no-argument path (``wizard.cli.main``), lazily,
so headless commands and detached builds never load Textual. Build the app
with ``wizard.tui.app.make_app``.
"""
