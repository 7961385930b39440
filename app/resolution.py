"""The resolution checklist a responder fills in when resolving (customer impact, whether
data was lost, follow-ups) and the public resolution text it leads to. Pure: both doors (the
API and the incident page's form) validate their input and hand a Checklist to
app/actions.resolve, which stores it on the incident and its timeline in the resolving call.

The public resolution says whether data was lost (PagerDuty's response process asks for it),
so an answered `data_loss` adds its sentence to what customers read. Customer impact and
follow-ups stay internal: they feed the timeline and the post-mortem draft.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_LOSS = ("no", "yes")
MAX_FOLLOW_UPS = 20
FOLLOW_UPS_CHARS = 5000
IMPACT_CHARS = 2000
DEFAULT_RESOLUTION = "This incident has been resolved."
DATA_LOSS_SENTENCES = {"no": "No data was lost.", "yes": "Some data was lost."}


@dataclass(frozen=True, slots=True)
class Checklist:
    customer_impact: str = ""
    data_loss: str = ""  # "no" | "yes" | "" (not answered)
    follow_ups: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.customer_impact or self.data_loss or self.follow_ups)

    def stored(self) -> dict[str, object]:
        """What the incident hash and the 'resolved' timeline entry keep: answered items only."""
        fields: dict[str, object] = {
            "customer_impact": self.customer_impact,
            "data_loss": self.data_loss,
            "follow_ups": list(self.follow_ups),
        }
        return {name: value for name, value in fields.items() if value}


def missing_items(required: tuple[str, ...], message: str, checklist: Checklist) -> list[str]:
    """What a resolution lacks of what the policy requires (app/ruleset RESOLUTION_ITEMS)."""
    given = {
        "message": bool(message),
        "data_loss": bool(checklist.data_loss),
        "customer_impact": bool(checklist.customer_impact),
    }
    return [item for item in required if not given.get(item, False)]


def follow_up_lines(text: str) -> tuple[str, ...]:
    """One follow-up per non-empty line, list markers ("- ", "* ") dropped."""
    lines = (
        line.strip().removeprefix("- ").removeprefix("* ").strip() for line in text.splitlines()
    )
    return tuple(line for line in lines if line)


def resolution_post(message: str, checklist: Checklist) -> str:
    """The resolution customers read: the responder's message (or the default one) and, when
    answered, whether data was lost; "" when there is nothing to post (resolve quietly)."""
    sentence = DATA_LOSS_SENTENCES.get(checklist.data_loss, "")
    if not sentence:
        return message
    body = message or DEFAULT_RESOLUTION
    if sentence.rstrip(".").lower() in body.lower():  # the responder already wrote it
        return body
    return f"{body} {sentence}" if "\n" not in body.strip() else f"{body.rstrip()}\n\n{sentence}"
