"""What the CLI prints: a task as readable text, the task list, the health report.

Results go to stdout and everything about the run itself (progress, errors) to stderr, so
`video-analysis analyze URL --wait --json > task.json` gets only the task."""

from rich.console import Console
from rich.text import Text

STATUS_STYLE = {"completed": "bold green", "failed": "bold red"}
TRANSCRIPT_SOURCES = {
    "youtube_captions": "YouTube captions",
    "youtube_auto_captions": "YouTube automatic captions",
    "subtitles": "the site's subtitles",
    "automatic_captions": "the site's automatic captions",
    "embedded_subtitles": "subtitles inside the file",
    "speech_to_text": "speech-to-text",
}


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        # Piped or redirected: lines are not wrapped at an imagined 80 columns, so they can be searched.
        console.soft_wrap = True
    return console


def clock(seconds: float | None, tenths: bool = False) -> str:
    """1:02:03, 2:03, or with tenths 2:03.4 (a frame's own time, which rarely falls on a whole second)."""
    if seconds is None:
        return "?"
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    if tenths:
        text += f".{int((seconds - whole) * 10)}"
    return text


def size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def heading(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))


def print_task(console: Console, task: dict, absolute_url, show_transcript: bool = False) -> None:
    """`absolute_url` makes a frame's relative image_url a full URL."""
    status = str(task.get("status"))
    head = Text.assemble(("Task ", "bold"), (str(task.get("task_id")), "bold"), "  ",
                         (status, STATUS_STYLE.get(status, "bold yellow")))
    console.print(head)
    info = task.get("video_info") or {}
    if info:
        video = Text.assemble("Video: ", (info.get("title") or "(untitled)", "bold"))
        if info.get("duration") is not None:
            video.append(f" ({clock(info['duration'])})")
        if info.get("channel"):
            video.append(f" by {info['channel']}")
        console.print(video)
    console.print(Text(f"URL: {task.get('youtube_url')}"))
    times = f"Created: {task.get('created_at')}"
    if task.get("completed_at"):
        times += f"   Completed: {task['completed_at']}"
    console.print(Text(times, style="dim"))

    if status == "failed":
        console.print(Text(f"Error: {task.get('error')}", style="red"))
    elif status != "completed" and task.get("progress"):
        console.print(Text(f"Progress: {progress_line(status, task['progress'])}"))

    if task.get("summary"):
        heading(console, "Summary")
        console.print(Text(task["summary"]))
    if task.get("key_points"):
        heading(console, "Key points")
        for point in task["key_points"]:
            console.print(Text(f"  • {point}"))
    if task.get("chapters"):
        heading(console, "Chapters")
        for chapter in task["chapters"]:
            line = Text(f"  {clock(chapter.get('start'))}–{clock(chapter.get('end'))}  ")
            line.append(str(chapter.get("title")), style="bold")
            if chapter.get("summary"):
                line.append(f": {chapter['summary']}")
            console.print(line)
    print_frames(console, task, absolute_url)
    print_transcript(console, task, show_transcript)
    if task.get("notes"):
        heading(console, "Notes")
        for note in task["notes"]:
            console.print(Text(f"  - {note}"))


def print_frames(console: Console, task: dict, absolute_url) -> None:
    frames = task.get("frames")
    if frames:
        strategy = f" ({task['frame_strategy']} strategy)" if task.get("frame_strategy") else ""
        heading(console, f"Frames{strategy}")
        for frame in frames:
            line = Text(f"  [{clock(frame.get('timestamp'), tenths=True)}] ", style="bold")
            line.append(frame.get("analysis") or "(no description)", style="")
            console.print(line)
            if frame.get("image_url"):
                console.print(Text(f"      {absolute_url(frame['image_url'])}", style="dim"))
    elif task.get("frame_analyses"):  # a service without the additive frames field
        heading(console, "Frames")
        for number, analysis in enumerate(task["frame_analyses"], 1):
            console.print(Text(f"  {number}. {analysis}"))


def print_transcript(console: Console, task: dict, show_transcript: bool) -> None:
    text = task.get("transcript")
    if not text:
        if task.get("status") == "completed":
            heading(console, "Transcript")
            console.print(Text("  none (see the notes)"))
        return
    heading(console, "Transcript")
    source = TRANSCRIPT_SOURCES.get(task.get("transcript_source"), task.get("transcript_source") or "unknown source")
    segments = task.get("transcript_segments") or []
    about = f"  from {source}"
    if task.get("transcript_language"):
        about += f" ({task['transcript_language']})"
    about += f", {len(text):,} characters"
    if segments:
        about += f", {len(segments)} segments"
    if segments and segments[-1].get("end") is not None:
        about += f", up to {clock(segments[-1]['end'])}"
    console.print(Text(about))
    if show_transcript:
        for segment in segments:
            console.print(Text(f"  [{clock(segment.get('start'))}] {segment.get('text')}"))
        if not segments:
            console.print(Text(text))


def progress_line(status: str, progress: dict | None) -> str:
    """'downloading 45% (4.5 MB of 10.0 MB)' and the like."""
    stage = (progress or {}).get("stage") or status
    line = stage.replace("_", " ")
    if not progress:
        return line
    if progress.get("fraction") is not None:
        line += f" {progress['fraction']:.0%}"
    if progress.get("downloaded_bytes") is not None:
        total = f" of {size(progress['total_bytes'])}" if progress.get("total_bytes") else ""
        line += f" ({size(progress['downloaded_bytes'])}{total})"
    if progress.get("detail"):
        line += f": {progress['detail']}"
    return line


def print_answer(console: Console, answer: dict) -> None:
    """The answer, then each passage it cites as "[n] 0:03–0:08  text" (a frame's one time alone)."""
    console.print(Text(str(answer.get("answer", ""))))
    citations = answer.get("citations") or []
    if citations:
        heading(console, "Sources")
    for n, citation in enumerate(citations, 1):
        start, end = citation.get("start"), citation.get("end")
        when = clock(start) if end is None or end <= (start or 0) else f"{clock(start)}–{clock(end)}"
        console.print(Text.assemble((f"  [{n}] {when}", "bold"), "  ", str(citation.get("text", ""))))


def print_task_list(console: Console, listing: dict) -> None:
    tasks = listing.get("tasks") or []
    total = listing.get("total", len(tasks))
    shown = f" (the newest {len(tasks)} shown)" if total > len(tasks) else ""
    console.print(Text(f"{total} task{'s' if total != 1 else ''}{shown}", style="bold"))
    for task in tasks:
        status = str(task.get("status"))
        line = Text(f"{task.get('task_id')}  ")
        line.append(f"{status:<21}", style=STATUS_STYLE.get(status, "yellow"))
        line.append(f" {task.get('created_at')}  {task.get('youtube_url')}")
        console.print(line)


def print_health(console: Console, health: dict) -> None:
    status = str(health.get("status"))
    style = {"healthy": "bold green", "degraded": "bold yellow"}.get(status, "bold red")
    console.print(Text.assemble("Service: ", (status, style)))
    gpu = health.get("gpu_name") or ("yes" if health.get("gpu_available") else "none")
    console.print(Text(f"GPU: {gpu}"))
    console.print(Text(f"Active tasks: {health.get('active_tasks')}"))
    components = health.get("components") or {}
    if components:
        up = {True: "up", False: "down"}
        console.print(Text(f"Task service: {up.get(components.get('orchestrator'), '?')}, "
                           f"database: {up.get(components.get('database'), '?')}"))
        for endpoint in components.get("endpoints") or []:
            state = "reachable" if endpoint.get("reachable") else "unreachable"
            where = f" on {endpoint['gpu_name']}" if endpoint.get("gpu_name") else ""
            console.print(Text(f"  {endpoint.get('role')} {endpoint.get('tier')}: {endpoint.get('model')}, "
                               f"{state}{where}"))
    if health.get("detail"):
        console.print(Text(f"Detail: {health['detail']}"))
