"""The safety guard: emergencies, dose, pill-splitting and personal-advice questions.

The detector and the conversation guard judge what the person writes; the output guard
and the action-reply contract check what the bot sends, so no reply carries a dose, a
schedule or a splitting instruction. Each returns a value (a verdict, a leak, a refusal);
the caller decides what the bot says.
"""
