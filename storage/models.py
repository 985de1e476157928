"""The schema: every durable fact Turnout keeps.

Queues (outbound SMS, Slack deliveries) are rows here, so that the database
is the one source of truth and a restart resumes exactly where it stopped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A practice campaign holds simulated members only, copied from the live
    # campaign `practice_of` (its slug); it is kept out of live figures.
    practice: Mapped[bool] = mapped_column(default=False, server_default=false())
    practice_of: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("campaign_id", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    branch: Mapped[str] = mapped_column(String(100), default="")
    membership_no: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "Member"


class SlackUser(Base):
    """What Turnout knows of a Slack user: name, DM channel with the app, role."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16), default="activist")
    # When the activist was last nudged about an idle queue (once a day at most).
    queue_nudged_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Conversation(Base):
    """One member's text conversation: the bridge between a phone and a thread.

    A member of a campaign has at most one; assigning a member to an
    activist creates it (state "queued" until the first text is sent).
    """

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("campaign_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), default="open")
    # The member card in the owner's DM (the thread parent), once posted.
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    thread_owner_id: Mapped[str | None] = mapped_column(String(32))
    # The Claim card in the support channel while nobody owns the conversation.
    claim_channel: Mapped[str | None] = mapped_column(String(32))
    claim_ts: Mapped[str | None] = mapped_column(String(32))
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    initial_sent_at: Mapped[datetime | None]
    # Why a queued member cannot be texted (a script field they lack), if so.
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    # The latest outcome key (see OutcomeEvent for who set what, when).
    outcome: Mapped[str | None] = mapped_column(String(64), index=True)
    # A follow-up round waiting in the owner's queue: its index and script.
    followup_round: Mapped[int | None]
    followup_script: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Agreement(Base):
    """An activist's acceptance of a campaign's data-protection terms."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("user_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    agreed_at: Mapped[datetime]


class ConversationThread(Base):
    """Every Slack thread that has stood for a conversation, to route replies."""

    __tablename__ = "conversation_threads"
    __table_args__ = (UniqueConstraint("channel", "thread_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # "dm" or "claim"
    created_at: Mapped[datetime]


class Message(Base):
    """One SMS, either way. Outbound rows are the SMS outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_outbox", "direction", "status", "not_before"),
        Index("ix_messages_slack", "slack_channel", "slack_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(16))  # inbound, reply, initial, followup, script
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The Slack message that shows this SMS (the activist's own, or the bot's).
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_reaction: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # For a member's reply waiting for an answer: when its owner was nudged,
    # and when it was escalated to the support channel (each happens once).
    nudged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # For a member's text: the outcome suggested to its owner, and when they took it.
    suggestion: Mapped[str | None] = mapped_column(String(64))
    suggestion_taken_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OptOut(Base):
    """The global do-not-text list. Rows leave only when the member texts START."""

    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class SlackDelivery(Base):
    """The Slack outbox: one intent (post, update, reaction) to carry out."""

    __tablename__ = "slack_outbox"
    __table_args__ = (
        Index("ix_slack_outbox_due", "status", "not_before"),
        Index("ix_slack_outbox_conversation", "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result_channel: Mapped[str | None] = mapped_column(String(32))
    result_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class SlackEvent(Base):
    """Event ids already handled, so a Slack retry is recognised."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PendingImport(Base):
    """A roster CSV an organiser uploaded to the app's DM, held until they confirm it.

    The file is kept so that the Import button imports exactly what the preview
    described, whatever happens to the Slack file meanwhile; its content is
    emptied once imported or cancelled, as member data is kept no longer than
    needed. ``file_id`` is Slack's, so a retried preview finds its own row.
    """

    __tablename__ = "pending_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(String(32), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> importing -> imported; pending -> cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    imported_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any] | None]


class OutcomeEvent(Base):
    """Every outcome recorded on a conversation, kept when it is changed."""

    __tablename__ = "outcome_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class ReplacementRequest(Base):
    """A member asked for a replacement ballot paper; the union must act on it."""

    __tablename__ = "replacement_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    address_confirmed: Mapped[bool] = mapped_column(default=True)
    new_address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    processed_by: Mapped[str | None] = mapped_column(String(32))


class FollowupRound(Base):
    """A follow-up round of a campaign that has run (each runs once)."""

    __tablename__ = "followup_rounds"
    __table_args__ = (UniqueConstraint("campaign_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    round: Mapped[int]
    queued: Mapped[int] = mapped_column(default=0)
    ran_at: Mapped[datetime]


class SweepLease(Base):
    """Who runs a sweep now, so instances sharing a database take turns."""

    __tablename__ = "sweep_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class SimulatedEvent(Base):
    """What a simulated phone did or will do: a text it got, a delivery report, a reply.

    Kinds: "text" (received, done at once; what the simulator answers lookups
    from), "status" (a delivery report for `sid`, due at `due_at`) and "reply"
    (the member texts back `body` under the inbound SID `sid`).
    """

    __tablename__ = "simulated_events"
    __table_args__ = (
        Index("ix_simulated_events_due", "done_at", "due_at"),
        UniqueConstraint("kind", "sid", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="")
    error_code: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text, default="")
    # The outbound text's row, from the status callback URL (as Twilio's ?m=).
    message_id: Mapped[int | None]
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class RateLimit(Base):
    """A rate shared by every instance: a Slack channel's posts, the SMS sender's texts.

    `tat` (seconds since the epoch) is GCRA's theoretical arrival time: when
    the next request would be due if they came exactly at the rate; see
    `storage.ratelimits`.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float]
