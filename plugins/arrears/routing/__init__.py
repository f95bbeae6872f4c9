"""Which recipient gets which work-queue row (business rules §5, "What leaves the warehouse carries the rules").

A row goes to exactly one recipient of its team: the first of the team's recipients, in the team's
channel order, whose channel the row allows. The routing is data (config/recipients.yml: each
recipient's `channels`, the teams' `channel_order`) turned into SQL predicates, so the export
selects a recipient's rows and the gate checks them in PostgreSQL with the same rule.
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
    "template_name",
]
