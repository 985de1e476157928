"""Simulated members: who they are, and what they text back.

Each persona answers turn by turn: its first reply answers the first text
it gets, its second the next one, and so on; past its last it says nothing
more. Which of its wordings it uses, and how long it takes, follow from the
phone number and the turn, so a run is the same every time.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from bot.phones import SIMULATED_PREFIX, SIMULATED_RANGE, is_simulated


@dataclass(frozen=True)
class Persona:
    key: str
    label: str  # for the trainer: what this member does
    turns: tuple[tuple[str, ...], ...]  # the wordings of each reply, turn by turn
    undeliverable: bool = False  # the phone is off: every text comes back undelivered

    def reply(self, turn: int, seed: str) -> str | None:
        """The reply to the `turn`-th text (0 first), or None for silence."""
        if turn >= len(self.turns):
            return None
        return random.Random(f"{seed}:{turn}").choice(self.turns[turn])  # noqa: S311 - not secret


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "voted",
        "has voted",
        (
            ("yes, posted it", "Done it last week 👍", "Yep voted yesterday, in the post"),
            ("no worries", "Thanks, you too", "👍"),
        ),
    ),
    Persona(
        "replacement",
        "never got a ballot paper",
        (
            (
                "I never got a ballot, can you send another?",
                "Haven't had a ballot paper through. Can I get a new one?",
            ),
            ("Yes that's right, same address", "Yes please, still at the same address"),
            ("Thanks!",),
        ),
    ),
    Persona(
        "question",
        "asks about the dispute",
        (
            (
                "What is the dispute actually about?",
                "What happens if we don't get 50%?",
                "Will I lose pay if there's a strike?",
            ),
            ("OK thanks, makes sense. I'll post it tomorrow",),
        ),
    ),
    Persona(
        "welsh",
        "replies in Welsh",
        (
            ("Do, dw i wedi pleidleisio'n barod", "Wedi postio fe ddoe, diolch"),
            ("Diolch!",),
        ),
    ),
    Persona("stop", "texts STOP", (("STOP",),)),
    Persona(
        "not_yet",
        "has not voted yet",
        (
            ("Not yet, it's on the kitchen table", "Not yet, will do it at the weekend"),
            ("Will do, thanks",),
        ),
    ),
    Persona(
        "wrong_number",
        "is a wrong number",
        (
            (
                "Sorry, wrong number. I'm not in any union",
                "Who is this? I think you have the wrong number",
            ),
        ),
    ),
    Persona("silent", "never replies", ()),
    Persona("unreachable", "has a phone that is off (texts undelivered)", (), undeliverable=True),
)
BY_KEY = {p.key: p for p in PERSONAS}
# Every practice batch has these, so each trainee meets the everyday replies,
# then one of the rest in turn, so a room of trainees meets all of them.
CORE = ("voted", "replacement", "question", "welsh")
EDGES = tuple(p.key for p in PERSONAS if p.key not in CORE)

NAMES = (
    ("Sam", "Okafor"),
    ("Priya", "Shah"),
    ("Gareth", "Hughes"),
    ("Cerys", "Morgan"),
    ("Tom", "Bell"),
    ("Aisha", "Rahman"),
    ("Dylan", "Price"),
    ("Megan", "Lloyd"),
    ("Jo", "Walsh"),
)


def persona_for(phone: str) -> Persona:
    """Who the member at `phone` is: by its last digits in the simulated range, else by hash."""
    if is_simulated(phone):
        return PERSONAS[int(phone[-3:]) % len(PERSONAS)]
    digest = hashlib.sha256(phone.encode()).digest()
    return PERSONAS[int.from_bytes(digest[:4], "big") % len(PERSONAS)]


def batch_personas(count: int, start: int) -> list[Persona]:
    """The personas of a batch of `count`: the core ones, then the rest from `start` on."""
    keys = list(CORE[:count])
    keys += [EDGES[(start + i) % len(EDGES)] for i in range(count - len(keys))]
    return [BY_KEY[k] for k in keys]


def number_for(persona: Persona, taken: set[str]) -> str | None:
    """A free simulated number that `persona_for` reads as `persona`; None if all are taken."""
    index = PERSONAS.index(persona)
    for n in SIMULATED_RANGE:
        phone = f"{SIMULATED_PREFIX}{n:03d}"
        if n % len(PERSONAS) == index and phone not in taken:
            return phone
    return None


def reply_delay(phone: str, turn: int, low: float, high: float) -> float:
    """Seconds a member takes to answer, between `low` and `high`."""
    return random.Random(f"delay:{phone}:{turn}").uniform(low, high)  # noqa: S311 - not secret


def mobile_playing(key: str) -> str:
    """A UK mobile number (outside the simulated range) that `persona_for` reads as `key`.

    For rosters run on SMS_BACKEND=sandbox whose members should play set parts
    (the demo, tests); a real roster's members get parts by their numbers' hash.
    """
    for n in range(100100, 1000000):
        phone = f"+447400{n:06d}"
        if persona_for(phone).key == key:
            return phone
    raise ValueError(f"no persona {key!r}")
