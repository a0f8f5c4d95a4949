"""The Dynamic Expertise Broker: which agents sit at the table, in which role, and why.

Pure functions over plain data (no LangGraph import); OR-Tools loads only when a solve runs.
"""

from nsed_graph.broker.binding import bind_seats
from nsed_graph.broker.telemetry import add_review_outcomes, update_telemetry
from nsed_graph.broker.values import ValueKnobs, seat_value

__all__ = [
    "ValueKnobs",
    "add_review_outcomes",
    "bind_seats",
    "seat_value",
    "update_telemetry",
]
