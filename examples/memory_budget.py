"""Hardware arbitrage: which local models fit together in 64 GB, and which table is best?

The broker solves the knapsack exactly (CP-SAT) from the catalogue's memory footprints and
priors (here: illustrative AIME-style scores), with at most one model per family so the table
stays heterogeneous. Nothing is called: binding needs only the agents' metadata.

    python examples/memory_budget.py
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from nsed_graph import Agent, Budget, NSEDConfig
from nsed_graph.broker import bind_seats

# id, family, memory footprint in GB (weights + KV cache), prior quality in [0, 1]
CATALOGUE = [
    ("gpt-oss-20b", "gpt-oss", 16.0, 0.62),
    ("qwen3-14b", "qwen", 30.0, 0.60),
    ("qwen3-8b", "qwen", 18.0, 0.55),
    ("gemma-3-12b", "gemma", 26.0, 0.45),
    ("llama-3.1-8b", "llama", 18.0, 0.30),
    ("phi-4-14b", "phi", 30.0, 0.50),
    ("mistral-small-24b", "mistral", 50.0, 0.52),
]


def main() -> None:
    agents = [
        Agent(
            id=model_id,
            # a vLLM endpoint per model; nothing is contacted to plan the table
            model=ChatOpenAI(base_url="http://127.0.0.1:8000/v1", api_key="none", model=model_id),
            family=family,
            memory_gb=memory,
            prior=prior,
        )
        for model_id, family, memory, prior in CATALOGUE
    ]
    config = NSEDConfig(table_size=3, budget=Budget(memory_gb=64.0), max_per_family=1)
    binding = bind_seats(agents, config, {}, previous=None, round_number=1)
    receipt = binding["receipt"]
    print(f"status: {receipt['status']}, objective {receipt['objective']:.2f}")
    memory = receipt["budget"]["memory_gb"]
    print(f"memory: {memory['used']:.0f} of {memory['limit']:.0f} GB")
    for agent_id, entry in receipt["agents"].items():
        print(f"  {agent_id:18} {entry['reason']}")


if __name__ == "__main__":
    main()
