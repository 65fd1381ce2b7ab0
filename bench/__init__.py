"""`make bench`: ldn-bot against the stock Rasa assistant (`rasa init`), in the same run.

Modules, one concept each:

- `environment`: paths, the child processes' environment, the machine's description.
- `processes`: the two assistants under test, started and stopped as a user runs them.
- `load`: the load generator (clients, questions, timing of each reply).
- `ours_only`: figures without a baseline (guard, NLU graph, `ask`, the web widget).
- `measure`: the alternating comparison of the two assistants.
- `report`: the table, the JSON file and what is printed.
- `cli`: the command line that wires them (`python bench/bench.py` or `python -m bench`).
"""
