"""The store's tables (SQLAlchemy 2 declarative models).

Every row carries its tenant and every query filters on it. Times are epoch
seconds (double precision) so that SQLite and PostgreSQL bucket them the same
way (`floor(t / 900) * 900`) and live and historical figures agree to the
second. Schema changes go through the Alembic migrations in
`cti/store/migrations`; `cti.store.schema.upgrade()` applies them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON}


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    """A person who logs in: agent, supervisor or admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # agent | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(300))
    agent_id: Mapped[str | None] = mapped_column(String(64))  # the ACD's agent id
    extension: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)


class Customer(Base):
    __tablename__ = "customers"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer, default=0)
    tier_given: Mapped[bool] = mapped_column(Boolean, default=False)  # else derived by rules
    revenue: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. balance
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        Index("ix_customers_tenant_account", "tenant_id", "account"),
        Index("ix_customers_tenant_name", "tenant_id", "name"),
    )


class CustomerPhone(Base):
    """A customer's phone number in E.164; a number belongs to one customer per tenant."""

    __tablename__ = "customer_phones"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
        ),
        Index("ix_customer_phones_customer", "tenant_id", "customer_id"),
    )


class Event(Base):
    """The append-only log of domain events (`reports.events`): written first, folded after."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    folded: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index("ix_events_tenant_call", "tenant_id", "call_id"),
        Index("ix_events_tenant_at", "tenant_id", "at"),
        Index("ix_events_unfolded", "folded", "seq"),
    )


class Call(Base):
    """One row per call, folded from its events (`reports.fold.CallRow`)."""

    __tablename__ = "calls"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    campaign: Mapped[str | None] = mapped_column(String(64))  # the campaign that placed it
    segment_of: Mapped[str | None] = mapped_column(String(64))  # after a transfer: its call
    caller_number: Mapped[str | None] = mapped_column(String(32))
    dnis: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[float | None] = mapped_column(Float)
    ivr_left_at: Mapped[float | None] = mapped_column(Float)
    queued_at: Mapped[float | None] = mapped_column(Float)
    first_offered_at: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[float | None] = mapped_column(Float)
    left_queue_at: Mapped[float | None] = mapped_column(Float)
    talk_ended_at: Mapped[float | None] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    wrapup_ended_at: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(16))  # reports.kpis.Outcome
    acd_outcome: Mapped[str | None] = mapped_column(String(24))
    offers: Mapped[int] = mapped_column(Integer, default=0)
    queue_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    acw_seconds: Mapped[float | None] = mapped_column(Float)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    ivr_path: Mapped[str | None] = mapped_column(String(500))
    survey_score: Mapped[int | None] = mapped_column(Integer)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    callback_number: Mapped[str | None] = mapped_column(String(32))
    # repeat-contact chains (cti.store.rollup): the caller's key for FCR, and the arrival
    # of the caller's previous / next answered call within the FCR window, over all the
    # tenant's calls, the same queue's, the same agent's (None: none within the window)
    fcr_key: Mapped[str | None] = mapped_column(String(100))
    fcr_prev_at: Mapped[float | None] = mapped_column(Float)
    fcr_next_at: Mapped[float | None] = mapped_column(Float)
    fcr_prev_queue_at: Mapped[float | None] = mapped_column(Float)
    fcr_next_queue_at: Mapped[float | None] = mapped_column(Float)
    fcr_prev_agent_at: Mapped[float | None] = mapped_column(Float)
    fcr_next_agent_at: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (
        Index("ix_calls_tenant_fcr_key", "tenant_id", "fcr_key", "queued_at"),
        Index("ix_calls_tenant_queued", "tenant_id", "queued_at"),
        Index("ix_calls_tenant_queue_queued", "tenant_id", "queue", "queued_at"),
        Index("ix_calls_tenant_agent_queued", "tenant_id", "agent", "queued_at"),
        Index("ix_calls_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_calls_tenant_caller", "tenant_id", "caller_number"),
    )


class CallHour(Base):
    """Additive totals of the calls that entered a queue in one UTC hour, per direction,
    and per queue (agent "*") or per answering agent (queue "*", answered calls only):
    the historical reports read these for whole hours instead of the calls
    (`cti.store.rollup` keeps them equal to the calls)."""

    __tablename__ = "call_hours"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[float] = mapped_column(Float, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandoned_3: Mapped[int] = mapped_column(Integer)
    short_abandoned_5: Mapped[int] = mapped_column(Integer)
    short_abandoned_10: Mapped[int] = mapped_column(Integer)
    transferred: Mapped[int] = mapped_column(Integer)
    answer_wait: Mapped[float | None] = mapped_column(Float)
    answer_wait_n: Mapped[int] = mapped_column(Integer)
    queue_wait: Mapped[float | None] = mapped_column(Float)
    queue_wait_n: Mapped[int] = mapped_column(Integer)
    hold: Mapped[float | None] = mapped_column(Float)
    hold_n: Mapped[int] = mapped_column(Integer)
    talk: Mapped[float | None] = mapped_column(Float)
    talk_n: Mapped[int] = mapped_column(Integer)
    acw: Mapped[float | None] = mapped_column(Float)
    acw_n: Mapped[int] = mapped_column(Integer)
    handle: Mapped[float | None] = mapped_column(Float)
    handle_n: Mapped[int] = mapped_column(Integer)
    longest_wait: Mapped[float | None] = mapped_column(Float)
    # answered within each of reports.kpis.SL_BANDS seconds
    within_5: Mapped[int] = mapped_column(Integer)
    within_10: Mapped[int] = mapped_column(Integer)
    within_15: Mapped[int] = mapped_column(Integer)
    within_20: Mapped[int] = mapped_column(Integer)
    within_30: Mapped[int] = mapped_column(Integer)
    within_40: Mapped[int] = mapped_column(Integer)
    within_50: Mapped[int] = mapped_column(Integer)
    within_60: Mapped[int] = mapped_column(Integer)
    within_70: Mapped[int] = mapped_column(Integer)
    within_80: Mapped[int] = mapped_column(Integer)
    within_90: Mapped[int] = mapped_column(Integer)
    within_100: Mapped[int] = mapped_column(Integer)
    within_110: Mapped[int] = mapped_column(Integer)
    within_120: Mapped[int] = mapped_column(Integer)
    resolved_marks: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    # FCR (window cti.store.rollup.FCR_WINDOW_DAYS): clusters begun here, and those of
    # one call, chained over all the tenant's calls, the queue's, the agent's
    fcr_first: Mapped[int] = mapped_column(Integer)
    fcr_alone: Mapped[int] = mapped_column(Integer)
    fcr_first_queue: Mapped[int] = mapped_column(Integer)
    fcr_alone_queue: Mapped[int] = mapped_column(Integer)
    fcr_first_agent: Mapped[int] = mapped_column(Integer)
    fcr_alone_agent: Mapped[int] = mapped_column(Integer)


class AgentStateInterval(Base):
    """An agent in one state (ready, reserved, on_call, hold, wrap_up, not_ready)."""

    __tablename__ = "agent_states"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start: Mapped[float] = mapped_column(Float, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    end: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_agent_states_tenant_start", "tenant_id", "start"),)


class Disposition(Base):
    __tablename__ = "dispositions"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    resolved_default: Mapped[bool | None] = mapped_column(Boolean)


class Survey(Base):
    """One answer of a post-call survey."""

    __tablename__ = "surveys"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_surveys_tenant_agent", "tenant_id", "agent_id"),)


class Callback(Base):
    """A callback, whatever its source, through one life:
    pending -> reserved -> dialing -> connected | failed | retry | expired."""

    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # queue | agent | web | abandoned
    call_id: Mapped[str | None] = mapped_column(String(64))  # the call that asked for it
    name: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[float] = mapped_column(Float)
    window_start: Mapped[float | None] = mapped_column(Float)
    window_end: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)
    due_at: Mapped[float | None] = mapped_column(Float)  # the next attempt not before
    # the life's own key: the asking call's id (asked for in the queue), or generated
    ref: Mapped[str] = mapped_column(String(80))
    __table_args__ = (
        Index("uq_callbacks_tenant_ref", "tenant_id", "ref", unique=True),
        Index("ix_callbacks_tenant_status", "tenant_id", "status"),
        Index("ix_callbacks_tenant_number", "tenant_id", "number"),
    )


class Recording(Base):
    """A call's recording (MixMonitor): its file, when it ran, and the agent's pauses.

    `pauses` lists `[start, end]` epoch pairs (`end` null while a pause lasts); the
    file holds the call's audio without them (`cti.recording`)."""

    __tablename__ = "recordings"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    pauses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    __table_args__ = (Index("ix_recordings_tenant_started", "tenant_id", "started_at"),)


class Campaign(Base):
    """A list of customers to call (`acd.campaign` decides who and when): its queue of
    agents, caller ID, mode, calling hours in each customer's zone and retry rules."""

    __tablename__ = "campaigns"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str] = mapped_column(String(64))
    caller_id: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))  # progressive | preview
    status: Mapped[str] = mapped_column(String(16))  # draft | running | paused | stopped
    hours: Mapped[str] = mapped_column(String(16))  # "09:00-20:00", customer's local time
    days: Mapped[str] = mapped_column(String(32))  # "mon,tue,wed,thu,fri"
    zone: Mapped[str] = mapped_column(String(64))  # for contacts whose zone is unknown
    busy_minutes: Mapped[float] = mapped_column(Float)
    no_answer_minutes: Mapped[float] = mapped_column(Float)
    failed_minutes: Mapped[float] = mapped_column(Float)
    max_attempts: Mapped[int] = mapped_column(Integer)
    ring_seconds: Mapped[int] = mapped_column(Integer)  # the customer's phone rings this long
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    dispositions: Mapped[str] = mapped_column(String(2000), default="")  # codes; "": the tenant's
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class CampaignContact(Base):
    """One line of a campaign's list and where it stands (`acd.campaign.ContactStatus`)."""

    __tablename__ = "campaign_contacts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[float] = mapped_column(Float, default=0.0)
    last_result: Mapped[str | None] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64))  # who had the last attempt
    call_id: Mapped[str | None] = mapped_column(String(80))  # the last attempt's call
    updated_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        Index("uq_campaign_contacts_number", "tenant_id", "campaign_id", "number", unique=True),
        Index("ix_campaign_contacts_due", "tenant_id", "campaign_id", "status", "next_at"),
    )


class DoNotCall(Base):
    """A number of the tenant's do-not-call list: no campaign ever dials it."""

    __tablename__ = "do_not_call"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[float] = mapped_column(Float)
