"""Rasa runtime glue: the custom NLU components and NLG (the core lives in `ldn_bot`)."""
