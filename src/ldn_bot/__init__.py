"""ldn-bot: a guarded assistant about low-dose naltrexone for MS (the core, without Rasa)."""
