"""Supervisor of the local stack that `make run` starts (deploy/local/Procfile).

Honcho, which ran the stack before, put every service in a session of its own and never restarted one,
so a killed `make`, a closed terminal or a killed runner left every service running, and one dead
service took the others down. supervisord and circus restart services but, like honcho, leave them
running when they are themselves killed with SIGKILL, and none of them follows a service's children
into sessions of their own. This supervisor ties every process of the stack to its own life:

- each service gets a parent-death signal (Linux `PR_SET_PDEATHSIG`), and so does the runner when the
  `make` that started it dies;
- every service process is marked (an environment variable its children inherit), and a guardian
  process in a session of its own kills whatever still carries the mark once the runner is gone, however
  it went; that reaches the media service's download workers, which live in sessions of their own;
- a service that exits is restarted with exponential backoff while the others stay up.
"""
