"""`textal ...` in a terminal: the typer app (``app``) and how it prints (``console``). Parses, calls the library,
prints.
"""
