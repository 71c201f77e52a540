"""The job queue: huey over SQLite or Redis, leases and coalescing, job registration. Runs an injected job runner;
loads no ML."""
