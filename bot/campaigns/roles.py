"""Who may do what: admin, organiser, coordinator, activist.

Each role includes the ones below it. Admins come from ADMIN_USER_IDS and
cannot be demoted from Slack; everyone else's role is stored.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from storage import events, users


class Role(IntEnum):
    ACTIVIST = 1
    COORDINATOR = 2
    ORGANISER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


ASSIGNABLE = {
    "activist": Role.ACTIVIST,
    "coordinator": Role.COORDINATOR,
    "organiser": Role.ORGANISER,
}
# Both spellings reach the same role; the union's own documents vary.
ASSIGNABLE["organizer"] = Role.ORGANISER


class NotAllowed(Exception):
    """The caller's role is below what the action needs."""

    def __init__(self, needed: Role) -> None:
        super().__init__(f"Only {needed.label}s can do that. Ask an organiser if you need it.")
        self.needed = needed


async def role_of(session: AsyncSession, rt: Runtime, user_id: str) -> Role:
    if user_id in rt.settings.admins:
        return Role.ADMIN
    known = await users.get(session, user_id)
    if known is None:
        return Role.ACTIVIST
    return ASSIGNABLE.get(known.role, Role.ACTIVIST)


async def require(session: AsyncSession, rt: Runtime, user_id: str, needed: Role) -> Role:
    role = await role_of(session, rt, user_id)
    if role < needed:
        raise NotAllowed(needed)
    return role


async def set_role(rt: Runtime, admin_id: str, user_id: str, role_name: str) -> Role:
    """An admin gives `user_id` a role; returns it. Audited."""
    role = ASSIGNABLE.get(role_name.lower())
    if role is None:
        raise ValueError(f"unknown role {role_name!r}: use organiser, coordinator or activist")
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, admin_id, Role.ADMIN)
        if user_id in rt.settings.admins:
            raise ValueError("that user is an admin (ADMIN_USER_IDS) and keeps every role")
        user = await users.upsert(session, user_id, now=now)
        before = user.role
        user.role = role.label
        await events.audit(
            session,
            actor=admin_id,
            action="role",
            now=now,
            user=user_id,
            before=before,
            after=role.label,
        )
    return role
