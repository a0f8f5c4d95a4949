"""The graph shell, one file per step of the loop, in the order ``graph.py`` wires them.

::

    start    the broker node: a new run reads its task; every round binds agents to seats
    propose  one Send per proposer seat, its job (reason, read the answer) and its node
    review   the barrier after proposing, one Send per reviewer seat, its job and its node
    vote     the round's quadratic vote, over the usable reviews
    gate     the forget gate, and the optional compressor seat that rewrites its brief
    stop     the round's record, the stopping rule, telemetry, and the final answer

``seat`` holds what the model-calling steps share: the table (agents, configuration, the names
masking hides) and the node runner that drives a seat's job under ``invoke`` and ``ainvoke``.
Each step moves data between the state and the pure core (``protocol/``) or a model; the
protocol's logic lives in the core.
"""
