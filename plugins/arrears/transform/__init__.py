"""The dbt runner: builds the delinquency and collection marts for a business date, in-process.

`build(business_date)` is what `arrears build --date D` and the nightly DAG call;
`dbt_invoke(args)` runs any dbt command against the warehouse (used by `make docs`);
`compile_manifest()` writes the parsed manifest (`dbt parse`) for tools that read the project without
running dbt; today only the cosmos benchmark (benchmarks/bench_dbt_modes.py) does.
"""

from arrears.transform.build import BuildFailed, BuildResult, NodeStatus, build, business_dates_to_rebuild
from arrears.transform.docs import generate_docs
from arrears.transform.invoke import DbtInvocationError, dbt_invoke
from arrears.transform.manifest import compile_manifest, manifest_path

__all__ = [
    "BuildFailed",
    "BuildResult",
    "DbtInvocationError",
    "NodeStatus",
    "build",
    "business_dates_to_rebuild",
    "compile_manifest",
    "dbt_invoke",
    "generate_docs",
    "manifest_path",
]
