"""`arrears db start|stop|status|url|init`."""

from __future__ import annotations

from arrears.settings import paths
from arrears.warehouse import embedded, external_url, initialise, warehouse_url


def run(action: str) -> int:
    """Carry out one `arrears db` action; returns the exit code."""
    home = paths()
    external = external_url()
    if action in ("start", "url"):
        # The pipeline role's URL, the last line so scripts can `arrears db url | tail -1`.
        url = warehouse_url()
        if not external:
            print(f"pipeline role ({embedded.PIPELINE_USER}):")
        print(url)
    elif action == "init":
        warehouse_url()  # starts the embedded server
        initialise(force=True)
        print(f"initialised {warehouse_url(start=False)}")
    elif action == "status":
        if external:
            print(f"external warehouse {external} (ARREARS_WAREHOUSE_URL)")
            return 0
        running = embedded.is_running(home)
        print(f"embedded warehouse {'running' if running else 'stopped'} in {home.warehouse_dir}")
        print(f"  pipeline role ({embedded.PIPELINE_USER}, `arrears db url`): {embedded.pipeline_url(home)}")
        print(f"  admin role ({embedded.SUPERUSER}, superuser: roles and schema only): {embedded.url(home)}")
        return 0 if running else 1
    elif action == "stop":
        if external:
            print("external warehouse: not managed by arrears, nothing stopped")
        else:
            print("stopped" if embedded.stop(home) else "not running")
    return 0
