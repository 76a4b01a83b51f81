"""``aspects db serve``: the embedded database (chDB) behind ClickHouse's HTTP interface.

chDB locks its directory to one process and cannot listen on a port, so this process owns the
database and every other one (Superset, dbt, a second CLI) connects to it exactly as to a
ClickHouse server, with clickhouse-connect. chDB parses, executes and formats; this package only
adapts the protocol: ``protocol`` (pure request/error rules), ``engine`` (connections, sessions),
``auth`` (users), ``app`` (ASGI), ``server`` (uvicorn, TCP_NODELAY).
"""
