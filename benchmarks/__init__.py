"""textal's benchmarks: each sub-folder's scripts run as modules from the repository root
(``python -m benchmarks.<name>.run``) and write their results beside themselves."""
