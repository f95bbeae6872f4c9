"""dbt's `flags` for sqlfluff's jinja templater (library_path in .sqlfluff).

Lint renders models as on a full refresh: a model that looks at the warehouse only when it is not
one (int_loans_to_recompute) then renders without `graph` or `adapter.get_relation`, which sqlfluff
does not have.
"""

FULL_REFRESH = True
