"""Every size, count and time limit of the service, in one place: the JSON API's
models, the web forms, the CLI, the OCPP intake and the ASGI server all read them
from here, so a form cannot silently truncate what the API would refuse."""

from __future__ import annotations

MAX_TEXT = 4000  # characters of observation text (API, web form, CLI, OCPP info)
MAX_CODE = 100  # error code, model
MAX_NAME = 100  # station id, assignee, account and token names
MAX_NOTE = 2000  # a note on a work order, a reopen reason
MAX_NOTES = 4000  # the repair log's notes
MAX_ROOT_CAUSE = 300
MAX_PART_NAME = 200
MAX_SERIAL = 100
MAX_CABLE = 50
MAX_PARTS = 20
MAX_ANSWERS = 50
MAX_ANSWER_REF = 500
MAX_ANSWER_VALUE = 200
MAX_QUERY = 500  # free-text query parameters (symptom search)
MAX_FILTER = 200  # other query-parameter filters
MAX_CHECKLIST = 100  # verification items ticked when closing
MAX_PASSWORD = 1024  # bytes hashed; longer passwords are refused, not truncated
MIN_PASSWORD = 8

MAX_PORT = 99  # ports / OCPP connector ids 0..MAX_PORT (0 = the whole station)
MAX_ID = 2**63 - 1  # ids and offsets: SQLite and PostgreSQL BIGINT
MAX_LIST = 1000  # rows per page
EVENTS_PAGE = 100  # events shown with an order; older ones are paged

MAX_BODY = 64 * 1024  # bytes of an HTTP request body; larger ones get 413
BODY_TIMEOUT_S = 10.0  # a request body not complete by then gets 408
MAX_FRAME = 64 * 1024  # characters of an OCPP frame answered with a CALLERROR when larger
WS_MAX_SIZE = 2 * MAX_FRAME  # bytes: larger WebSocket messages are refused unread (1009)
MAX_NESTING = 32  # JSON nesting depth of an OCPP frame

SESSION_HOURS = 12  # a web login lasts this long
