"""What the understanding tests feed the NLU: new article invitations, shared by the tests
of the invitation step and those through the trained model, and parsed messages built by hand
for the pipeline components.

The phrasings are new: none is taken from the blind sets (tests/data/article_questions.yml,
conversations.yml), which stay held out.
"""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

# Three new phrasings per topic: a "what does the article say about" frame, a "tell me
# about" / "info on" / "anything on" frame, and a bare subject with question marks.
INVITATIONS = {
    "ms": [
        "what does the article say about multiple sclerosis itself?",
        "info on the disease pls",
        "multiple sclerosis??",
    ],
    "ms_prevalence": [
        "what does the text say regarding ms prevalence",
        "anything about the ms statistics",
        "ms stats?",
    ],
    "naltrexone": [
        "what's the article say about low-dose naltrexone",
        "tell me a bit about naltrexone please",
        "low-dose naltrexone ?",
    ],
    "fda_approval": [
        "what does it say on the fda approval",
        "info about the approved uses",
        "fda approval pls",
    ],
    "off_label": [
        "does the article mention off-label prescribing",
        "tell me about the off label status",
        "off-label prescribing?",
    ],
    "mechanism": [
        "what does the article say on the mechanism of action",
        "can you tell me how ldn works",
        "the mechanism?",
    ],
    "endorphins": [
        "does the article talk about endorphins",
        "any info on endorphins",
        "endorphins please",
    ],
    "effectiveness": [
        "what does the article say about the efficacy",
        "anything on the effectiveness of ldn",
        "efficacy?",
    ],
    "study_2017": [
        "what does the article say about the raknes study",
        "tell me about the 2017 paper",
        "the norwegian study?",
    ],
    "study_longterm": [
        "what did the article say about the ludwig study",
        "info on the long-term data",
        "the ten year study?",
    ],
    "research_needed": [
        "what does the article say about further research",
        "anything on future studies",
        "research gaps?",
    ],
    "safety": [
        "what does the article say regarding safety",
        "tell me about ldn's safety",
        "safety pls",
    ],
    "side_effects": [
        "what does the article mention about adverse effects",
        "any info on the adverse reactions",
        "adverse effects??",
    ],
    "risks": [
        "what does the article say about liver damage",
        "tell me about the dangers",
        "the liver risk?",
    ],
    "thrombocytopenia": [
        "what does the article say about low platelets",
        "info on thrombocytopenia pls",
        "platelets?",
    ],
    "warnings": [
        "what does the article say about naltrexone warnings",
        "anything on the warnings",
        "naltrexone warnings??",
    ],
    "contraindications": [
        "what does the article say about contraindications",
        "tell me about who should avoid it",
        "contraindications for ldn?",
    ],
    "doctor_advice": [
        "what does the article say in conclusion",
        "tell me the bottom line",
        "takeaway??",
    ],
    "sources": [
        "what does the article say about its references",
        "info on the citations",
        "citations?",
    ],
    "vivitrol": [
        "what does the article say about the injectable form",
        "tell me about the naltrexone jab",
        "injectable naltrexone?",
    ],
}
# Small typos in the subject still name it.
TYPO_INVITATIONS = {
    "side_effects": "tell me about the side efects",
    "thrombocytopenia": "thrombocytopeina?",
    "endorphins": "what does the article say about endorphines",
    "contraindications": "contraindicatons?",
}


def parsed_message(text: str, intent: str, confidence: float, runner_up: float = 0.0) -> Message:
    """A message as the NLU leaves it: `intent` at `confidence`, a runner-up below it."""
    msg = Message(data={"text": text})
    msg.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    msg.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "other", "confidence": runner_up}],
        add_to_output=True,
    )
    return msg
