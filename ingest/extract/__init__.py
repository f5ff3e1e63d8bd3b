"""One extractor per module. Each is ``run(state)``; ``CHAIN`` is their order."""
