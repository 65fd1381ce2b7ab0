"""rasa-sdk actions: thin adapters from a `Tracker` to `ldn_bot` and back."""
