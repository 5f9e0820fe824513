"""KPIs: definitions, live aggregates, historical queries, Erlang C."""
