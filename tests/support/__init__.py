"""Helpers the tests and the benchmarks share: ports, waits, real servers, Label Studio stubs, queues, memory."""
