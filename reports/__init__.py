"""KPIs: definitions, live aggregates, historical queries, Erlang C.

The public surface: the records and KPI summaries of `reports.kpis` (per queue, agent,
interval, day or month in `reports.grouping`), Erlang C staffing in `reports.erlang`, and
Asterisk queue_log reading and writing in `reports.queue_log`. The same KPIs by SQL over
the store are `cti.store.kpi_queries` (this package does no I/O).
Single KPI functions stay in their modules (`kpis.service_level` is measured,
`erlang.service_level` is predicted).
"""

from reports.erlang import agents_needed, probability_of_wait, traffic_erlangs
from reports.grouping import (
    summarise_by_agent,
    summarise_by_interval,
    summarise_by_period,
    summarise_by_queue,
)
from reports.kpis import (
    AgentInterval,
    AgentState,
    CallRecord,
    Outcome,
    normalise_number,
    service_level_bands,
    summarise,
)
from reports.queue_log import QueueLogReport, format_queue_log_line, read_queue_log

__all__ = [
    "AgentInterval",
    "AgentState",
    "CallRecord",
    "Outcome",
    "QueueLogReport",
    "agents_needed",
    "format_queue_log_line",
    "normalise_number",
    "probability_of_wait",
    "read_queue_log",
    "service_level_bands",
    "summarise",
    "summarise_by_agent",
    "summarise_by_interval",
    "summarise_by_period",
    "summarise_by_queue",
    "traffic_erlangs",
]
