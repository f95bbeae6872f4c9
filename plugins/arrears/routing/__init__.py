"""Which recipient gets which work-queue row (business rules §5, "What leaves the warehouse carries the rules").

A row goes to exactly one recipient of its team: the first of the team's recipients, in the team's
channel order, whose channel the row allows. The routing is data (config/recipients.yml: each
recipient's `channels`, the teams' `channel_order`), handed to dbt as a var: the build writes each
row's recipient into fct_work_queue, and the exports and the gate select a recipient's rows by it.
"""

from arrears.routing.agency_recipients import expand_per_agency
from arrears.routing.rules import (
    CHANNELS,
    RECIPIENT_ROWS_PREFIX,
    RoutedRecipient,
    Routing,
    RoutingConfigError,
    load_routing,
    recipient_rows_sql,
    recipients_file,
    routed_nowhere_sql,
    routing_from_config,
    routing_template_values,
    routing_var,
    template_name,
)

__all__ = [
    "CHANNELS",
    "RECIPIENT_ROWS_PREFIX",
    "RoutedRecipient",
    "Routing",
    "RoutingConfigError",
    "expand_per_agency",
    "load_routing",
    "recipient_rows_sql",
    "recipients_file",
    "routed_nowhere_sql",
    "routing_from_config",
    "routing_template_values",
    "routing_var",
    "template_name",
]
