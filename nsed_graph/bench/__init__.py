"""Evaluation harness: benchmark data, answer checkers and a sandbox for model-written code.

It stays a subpackage of ``nsed_graph`` (installed with the ``bench`` extra) rather than a
sibling package: ``nsed bench`` and ``nsed report`` ship with the library, so a researcher gets
the harness that matches the engine they run, at the same version, from one install. What a
separate package would buy, a harness that can only see what a user sees, is kept by an import
contract instead (``make lint``): the harness imports the public surface named in
``nsed_graph/__init__.py`` and nothing internal, so its baselines ask their questions exactly
as a user's code would (``nsed_graph.apropose_once``, ``nsed_graph.calls``).

Kept free of imports so that ``nsed_graph.bench`` costs nothing until a submodule is used.
"""
