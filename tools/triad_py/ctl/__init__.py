"""triad_py.ctl: the code of tools/triadctl, the command line client of Triad's services.

Modules, one per area:
  catalog    services and methods discovered from the generated descriptors (with their proto
             comments), command names, service addresses;
  fields     request flags derived from a request message, and the parsing of their values
             (enums by short name, timestamps as RFC 3339 or +3d, money, masks, maps);
  errors     readable gRPC errors (code, message, google.rpc.Status details) and exit codes;
  output     json / table / key-value rendering of responses, pagination;
  rpc_cmd    the generic `triadctl <service> <command>` of every RPC;
  funnel, load, gantt
             the views `pipeline funnel`, `review load`, `production gantt` (fetch + render);
  importcsv  `clients import FILE.csv` in idempotent chunks;
  ops        operator commands: dlq (front-end of tools/triad-dlq), backup, quarantine;
  main       the argument parser and dispatch.
"""

# Exit codes of triadctl.
EXIT_OK = 0
EXIT_RPC_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class UsageError(Exception):
    """A bad command line (exit 2): the message names the flag at fault."""


class CommandError(Exception):
    """A failure that is not a gRPC error (a missing binary, a failed sub-command): exit 1."""
