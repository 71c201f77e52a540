"""The HTTP process (``textal serve``): the ASGI app Label Studio talks to, request guards, model slots, start-up."""
