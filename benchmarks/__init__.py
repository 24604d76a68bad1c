"""`make bench`: the portal measured against what a Django developer would otherwise pick.

A package, so that its modules import each other by name and the child processes that
measure one thing each run as ``python -m benchmarks.<module>``. ``run.py`` is the entry point.
Nothing here is imported by the product or by the tests.
"""
