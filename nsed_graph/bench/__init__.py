"""Evaluation harness: benchmark data, answer checkers and a sandbox for model-written code.

Kept free of imports so that ``nsed_graph.bench`` costs nothing until a submodule is used.
"""
