"""Exit codes, one per kind of failure, so scripts can tell a refused URL from a server that is down."""

OK = 0
TASK_FAILED = 1
USAGE = 2  # also what argparse exits with for a bad command line
REFUSED = 3
UNREACHABLE = 4
UNAUTHORIZED = 5
NOT_FOUND = 6
SERVICE_ERROR = 7
INTERRUPTED = 130

EXIT_CODES_HELP = f"""\
exit codes:
  {OK}    success
  {TASK_FAILED}    the task failed (its error is printed)
  {USAGE}    bad command line, or a file or setting that cannot be used
  {REFUSED}    the service refused the request (HTTP 400/413/422: e.g. a bad URL or option)
  {UNREACHABLE}    the service could not be reached (not running, wrong VIDEO_ANALYSIS_URL, timeout)
  {UNAUTHORIZED}    the API key is missing or wrong (HTTP 401; set VIDEO_ANALYSIS_API_KEY)
  {NOT_FOUND}    no such task (HTTP 404)
  {SERVICE_ERROR}    the service failed or is busy (HTTP 5xx, 429), or answered something unreadable
  {INTERRUPTED}  interrupted (Ctrl-C); a task already started goes on
"""


class CliError(Exception):
    """A failure to report in one line, and the exit code that says what kind it was."""

    def __init__(self, message: str, exit_code: int, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        # Worth retrying while following a task: the service restarting, a dropped connection.
        self.transient = transient
