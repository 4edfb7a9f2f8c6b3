"""The `video-analysis` command: its arguments, and one function per subcommand."""

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from . import errors
from .client import DEFAULT_URL, KEY_VARIABLE, URL_VARIABLE, ApiClient
from .display import make_console, print_answer, print_health, print_task, print_task_list, size
from .errors import EXIT_CODES_HELP, CliError
from .follow import TERMINAL, follow_task
from .progress import TaskProgressView, UploadProgressView

SETTINGS_HELP = f"""\
settings (environment variables):
  {URL_VARIABLE}      the service's address (default {DEFAULT_URL}); --url wins over it
  {KEY_VARIABLE}  your API key, when the service has API_KEYS (sent as Authorization: Bearer)

"""

EXAMPLES_HELP = """\
examples:
  video-analysis analyze https://www.youtube.com/watch?v=dQw4w9WgXcQ --max-frames 8 --wait
  video-analysis analyze talk.mp4 --language en --prompt "focus on the prices" --wait
  video-analysis show TASK_ID --json
  video-analysis ask TASK_ID "when is the red square shown?"
  video-analysis list

"""


def build_parser() -> argparse.ArgumentParser:
    epilog = SETTINGS_HELP + EXIT_CODES_HELP

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    parser = argparse.ArgumentParser(
        prog="video-analysis", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Analyse videos with the video analysis service: a summary, key points, chapters, what is "
                    "on screen at representative moments, and the transcript.",
        epilog=EXAMPLES_HELP + epilog)
    parser.add_argument("--url", help=f"the service's address (default: ${URL_VARIABLE}, else {DEFAULT_URL})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = command("analyze", "start analysing a video URL or a local file",
                      "Start analysing a video: a URL (YouTube, any site yt-dlp knows, a page with a <video>), "
                      "or a local file, which is uploaded first.")
    analyze.add_argument("source", metavar="URL_OR_FILE", help="the video's URL, or the path of a video file")
    analyze.add_argument("--max-frames", type=int, metavar="N", help="most frames to describe (service default 8)")
    analyze.add_argument("--strategy", choices=("scenes", "uniform"),
                         help="how frames are picked: one per scene (default) or evenly spread in time")
    analyze.add_argument("--language", metavar="L", help='language of the summary and key points, e.g. "en"')
    analyze.add_argument("--prompt", metavar="P", help="your own instructions for the analysis")
    analyze.add_argument("--transcript-language", dest="transcript_languages", action="append", metavar="L",
                         help="preferred transcript language, best first (repeatable)")
    result_options(analyze, "wait for the result, showing progress, and print it")

    show = command("show", "print a task's status or result", "Print a task's status, or its result once done.")
    show.add_argument("task_id", metavar="ID")
    result_options(show, "wait until the task is done, showing progress")

    ask = command("ask", "ask a question about an analysed video",
                  "Ask a question about a completed task; the answer cites the moments of the video it is drawn "
                  "from.")
    ask.add_argument("task_id", metavar="ID")
    ask.add_argument("question", metavar="QUESTION", help="at most 1,000 characters")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")

    listing = command("list", "list tasks, newest first", "List tasks, newest first.")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="how many to list (default 100)")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")

    delete = command("delete", "delete a task (stopping it if it runs)", "Delete a task; a running one is stopped.")
    delete.add_argument("task_id", metavar="ID")

    health = command("health", "print the service's health", "Print the service's health and its models' status.")
    health.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def result_options(parser: argparse.ArgumentParser, wait_help: str) -> None:
    parser.add_argument("--wait", action="store_true", help=wait_help)
    parser.add_argument("--json", action="store_true", help="print the task as JSON (as GET /tasks/{id} gives it)")
    parser.add_argument("--transcript", action="store_true", help="print the whole transcript with its times")


def print_json(value: dict) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run_analyze(args, client: ApiClient, out: Console, err: Console) -> int:
    source = args.source
    path = Path(source).expanduser()
    is_url = "://" in source
    if not is_url and path.is_dir():
        raise CliError(f"{source} is a directory, not a video file", errors.USAGE)
    url = upload(client, path, err) if not is_url and path.is_file() else source
    body = {"youtube_url": url, "max_frames": args.max_frames, "frame_strategy": args.strategy,
            "language": args.language, "prompt": args.prompt, "transcript_languages": args.transcript_languages}
    try:
        started = client.analyze({k: v for k, v in body.items() if v is not None})
    except CliError as exc:
        if exc.exit_code == errors.REFUSED and not is_url:
            exc.message += f" (and there is no file named {source!r})"
        raise
    task_id = started["task_id"]
    if args.wait:
        err.print(Text(f"Task {task_id} started; waiting for it (Ctrl-C stops waiting, not the task)"))
        return wait_and_report(args, client, task_id, out, err)
    if args.json:
        print_json(started)
    else:
        out.print(Text(f"Task {task_id} started ({started.get('status')})"))
        err.print(Text(f"Follow it with: video-analysis show {task_id} --wait"), style="dim")
    return errors.OK


def upload(client: ApiClient, path: Path, err: Console) -> str:
    total = path.stat().st_size
    with UploadProgressView(err, path.name, total) as view:
        uploaded = client.upload(path, on_progress=view.sent)
    err.print(Text(f"Uploaded {path.name} ({size(total)}) as {uploaded['url']}"))
    return uploaded["url"]


def wait_and_report(args, client: ApiClient, task_id: str, out: Console, err: Console) -> int:
    try:
        with TaskProgressView(err) as view:
            task = follow_task(client, task_id, view.update)
            view.finish(task["status"])
    except KeyboardInterrupt:
        raise CliError(f"stopped waiting; the task goes on: video-analysis show {task_id} --wait",
                       errors.INTERRUPTED) from None
    return report(args, client, task, out, err)


def report(args, client: ApiClient, task: dict, out: Console, err: Console) -> int:
    if args.json:
        print_json(task)
    else:
        print_task(out, task, client.absolute, show_transcript=args.transcript)
    if task.get("status") == "failed":
        err.print(Text(f"error: the task failed: {task.get('error')}", style="red"))
        return errors.TASK_FAILED
    return errors.OK


def run_show(args, client: ApiClient, out: Console, err: Console) -> int:
    task = client.task(args.task_id)
    if args.wait and task.get("status") not in TERMINAL:
        return wait_and_report(args, client, args.task_id, out, err)
    return report(args, client, task, out, err)


def run_ask(args, client: ApiClient, out: Console, err: Console) -> int:
    answer = client.ask(args.task_id, args.question)
    if args.json:
        print_json(answer)
    else:
        print_answer(out, answer)
    return errors.OK


def run_list(args, client: ApiClient, out: Console, err: Console) -> int:
    listing = client.tasks(args.limit)
    if args.json:
        print_json(listing)
    else:
        print_task_list(out, listing)
    return errors.OK


def run_delete(args, client: ApiClient, out: Console, err: Console) -> int:
    out.print(Text(str(client.delete(args.task_id).get("message"))))
    return errors.OK


def run_health(args, client: ApiClient, out: Console, err: Console) -> int:
    health = client.health()
    if args.json:
        print_json(health)
    else:
        print_health(out, health)
    if health.get("status") == "unhealthy":
        err.print(Text(f"error: the service is unhealthy: {health.get('detail')}", style="red"))
        return errors.SERVICE_ERROR
    return errors.OK


COMMANDS = {"analyze": run_analyze, "show": run_show, "ask": run_ask, "list": run_list, "delete": run_delete,
            "health": run_health}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = make_console(), make_console(stderr=True)
    client = None
    try:
        client = ApiClient.from_environment(args.url)
        return COMMANDS[args.command](args, client, out, err)
    except CliError as exc:
        err.print(Text(f"error: {exc.message}", style="red"))
        return exc.exit_code
    except KeyboardInterrupt:
        err.print(Text("interrupted", style="red"))
        return errors.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`video-analysis list | head -3`); Python's final flush must not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.OK
    except Exception as exc:  # a fault of this program still reads as one line, never as a traceback
        err.print(Text(f"error: unexpected failure: {type(exc).__name__}: {exc}", style="red"))
        return errors.SERVICE_ERROR
    finally:
        if client is not None:
            client.close()
