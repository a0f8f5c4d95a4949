"""The functional core of the protocol: pure functions, no LangGraph, no I/O.

``voting`` (credits, quadratic votes, supports, conviction), ``gate`` (the forget gate),
``stopping`` (convergence, efficiency-fatigue T_opt, best round), ``answers`` (extraction and
normalisation per answer format), ``masking`` (labels, shuffles, fences).
"""
