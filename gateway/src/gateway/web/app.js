// The web page of the video analysis service: submit a video, watch its analysis, read the result.
// It speaks the public REST API from this origin. With API keys on, the key is kept in localStorage
// and sent as "Authorization: Bearer" on every request (never in a URL: frame images are fetched
// and shown as blob: URLs).
"use strict";

(() => {
  const KEY_STORAGE = "video-analysis.api-key";
  const POLL_MS = 2000;
  const TASK_LIST_REFRESH_MS = 15000;
  const IMAGE_FETCHES = 4;
  const TERMINAL = new Set(["completed", "failed"]);
  const STAGES = [
    ["pending", "Queued"],
    ["downloading", "Download"],
    ["extracting_frames", "Frames"],
    ["extracting_transcript", "Transcript"],
    ["analyzing_vision", "Vision"],
    ["analyzing_text", "Summary"],
  ];
  const STATUS_TEXT = {
    pending: "Waiting to start",
    downloading: "Downloading the video",
    extracting_frames: "Picking the frames",
    extracting_transcript: "Reading the transcript",
    analyzing_vision: "Describing the frames",
    analyzing_text: "Writing the summary",
    completed: "Completed",
    failed: "Failed",
  };
  const BADGE_TEXT = { pending: "Queued", completed: "Completed", failed: "Failed" };
  const TRANSCRIPT_SOURCES = {
    youtube_captions: "YouTube captions",
    youtube_auto_captions: "YouTube automatic captions",
    subtitles: "subtitles",
    automatic_captions: "automatic captions",
    embedded_subtitles: "subtitles in the file",
    speech_to_text: "speech to text",
  };
  const TIME_PREFIX = /^\s*\[((?:\d{1,2}:)?\d{1,2}:\d{2})\]\s*/;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  const $ = (id) => document.getElementById(id);

  // ---- small helpers ---------------------------------------------------------------------------

  /** An element with attributes (on* are listeners, a boolean true is an empty attribute) and children. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function clock(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
  }

  /** A length of time in words: "under a second", "42 s", "3 min 05 s", "1 h 20 min". */
  function elapsed(seconds) {
    if (seconds < 1) return "under a second";
    const total = Math.round(seconds);
    if (total < 60) return `${total} s`;
    if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
    return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
  }

  function parseClock(text) {
    return text.split(":").reduce((sum, part) => sum * 60 + Number(part), 0);
  }

  function bytes(count) {
    if (count === null || count === undefined) return "";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = count;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
  }

  /** The API's times are UTC without an offset ("2026-11-26T12:00:00"). */
  function utc(text) {
    if (!text) return null;
    const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function when(text) {
    const date = utc(text);
    if (!date) return "";
    const seconds = (Date.now() - date.getTime()) / 1000;
    if (seconds < 45) return "just now";
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400 && date.getDate() === new Date().getDate()) {
      return `today ${date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
    }
    return date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  // Titles of the tasks seen on this page: the task list (GET /tasks) carries none.
  const titles = new Map();

  function taskName(task) {
    if (task.video_info && task.video_info.title) {
      titles.set(task.task_id, task.video_info.title);
      return task.video_info.title;
    }
    if (titles.has(task.task_id)) return titles.get(task.task_id);
    const url = task.youtube_url || "";
    if (url.startsWith("upload://")) return "Uploaded file";
    try {
      const parsed = new URL(url);
      const path = parsed.pathname === "/" ? "" : parsed.pathname;
      return `${parsed.host}${path}${parsed.search}`;
    } catch {
      return url;
    }
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  function isRunning(status) {
    return !TERMINAL.has(status) && status !== "pending";
  }

  let toastTimer = null;
  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  // ---- the API, with the caller's key ------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  let apiKey = localStorage.getItem(KEY_STORAGE) || "";
  let keyPrompt = null;

  function apiUrl(path) {
    // Relative to the page, so the service also works below a path prefix behind a proxy.
    return new URL(path.replace(/^\/+/, ""), document.baseURI).href;
  }

  /** What the API said went wrong: `detail` (a string, or FastAPI's list of field errors) or `error`. */
  function describeError(status, text) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    const detail = body && (body.detail !== undefined ? body.detail : body.error);
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail) && detail.length) {
      return detail.map((item) => {
        const field = Array.isArray(item.loc) ? item.loc.filter((part) => part !== "body").join(".") : "";
        const message = String(item.msg || "").replace(/^Value error, /, "");
        return field && !message.includes(field) ? `${field}: ${message}` : message;
      }).join("; ");
    }
    if (detail && typeof detail === "object" && detail.message) return detail.message;
    if (status === 0) return "The service could not be reached.";
    return `The service answered ${status}.`;
  }

  async function api(path, options = {}) {
    for (;;) {
      const headers = { ...(options.headers || {}) };
      if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
      let response;
      try {
        response = await fetch(apiUrl(path), { ...options, headers });
      } catch (error) {
        if (error.name === "AbortError") throw error;
        throw new ApiError(0, "The service could not be reached.");
      }
      if (response.status !== 401) return response;
      const detail = describeError(401, await response.text());
      if (!(await askForKey(refusalReason(), detail))) {
        throw new ApiError(401, "An API key is needed to use this service.");
      }
    }
  }

  async function apiJson(path, options = {}) {
    const response = await api(path, options);
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, describeError(response.status, text));
    return JSON.parse(text);
  }

  function upload(file, onProgress) {
    // XMLHttpRequest, not fetch: it reports how much of the file has been sent.
    return new Promise((resolve, reject) => {
      const send = () => {
        const request = new XMLHttpRequest();
        request.open("POST", apiUrl("uploads"));
        if (apiKey) request.setRequestHeader("Authorization", `Bearer ${apiKey}`);
        request.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        });
        request.addEventListener("load", async () => {
          if (request.status === 401) {
            if (await askForKey(refusalReason(), describeError(401, request.responseText))) send();
            else reject(new ApiError(401, "An API key is needed to use this service."));
          } else if (request.status >= 200 && request.status < 300) {
            resolve(JSON.parse(request.responseText));
          } else {
            reject(new ApiError(request.status, describeError(request.status, request.responseText)));
          }
        });
        request.addEventListener("error", () => reject(new ApiError(0, "The upload could not reach the service.")));
        const form = new FormData();
        form.append("file", file);
        request.send(form);
      };
      send();
    });
  }

  // ---- the key dialog ----------------------------------------------------------------------------

  function refusalReason() {
    return apiKey ? "The key kept in this browser was not accepted. Enter a valid one."
      : "This service needs an API key. Ask whoever runs it for yours.";
  }

  function updateKeyButton() {
    $("key-button").hidden = !apiKey;
  }

  /** Asks for a key; resolves true once one is kept, false when the person cancels. */
  function askForKey(reason, detail = "") {
    if (keyPrompt) return keyPrompt;
    const dialog = $("key-dialog");
    const input = $("key-input");
    keyPrompt = new Promise((resolve) => {
      const listeners = [];
      const on = (target, type, listener) => {
        target.addEventListener(type, listener);
        listeners.push([target, type, listener]);
      };
      const finish = (kept) => {
        for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
        if (dialog.open) dialog.close();
        keyPrompt = null;
        resolve(kept);
      };
      on($("key-form"), "submit", (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) {
          input.focus();
          return;
        }
        apiKey = key;
        localStorage.setItem(KEY_STORAGE, key);
        updateKeyButton();
        finish(true);
      });
      on($("key-cancel"), "click", () => finish(false));
      on($("key-forget"), "click", () => {
        apiKey = "";
        localStorage.removeItem(KEY_STORAGE);
        updateKeyButton();
        toast("The key was removed from this browser.");
        finish(false);
      });
      on(dialog, "cancel", (event) => {
        event.preventDefault();
        finish(false);
      });
    });
    $("key-reason").textContent = reason;
    $("key-detail").textContent = detail ? `The service said: ${detail}` : "";
    $("key-detail").hidden = !detail;
    $("key-forget").hidden = !apiKey;
    input.value = "";
    dialog.showModal();
    input.focus();
    return keyPrompt;
  }

  // ---- submitting --------------------------------------------------------------------------------

  function fillTiers(select, tiers) {
    const order = ["int4", "int8", "fp16"];
    const known = [...new Set(tiers)].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (!known.length) return;
    const chosen = known.includes(select.value) ? select.value : known.includes("int4") ? "int4" : known[0];
    select.replaceChildren(...known.map((tier) => h("option", { value: tier }, tier)));
    select.value = chosen;
  }

  async function loadTiers() {
    // /health needs no key and names the deployed model endpoints, each with its role and tier.
    try {
      const response = await fetch(apiUrl("health"));
      const health = await response.json();
      const endpoints = (health.components && health.components.endpoints) || [];
      fillTiers($("vision-quantization"), endpoints.filter((e) => e.role === "vision").map((e) => e.tier));
      fillTiers($("text-quantization"), endpoints.filter((e) => e.role === "text").map((e) => e.tier));
    } catch {
      // The defaults stay; POST /analyze names a tier that is not deployed.
    }
  }

  function source() {
    return $("source-file").checked ? "file" : "url";
  }

  function showSource() {
    const file = source() === "file";
    $("url-field").hidden = file;
    $("file-field").hidden = !file;
  }

  function formError(message) {
    const box = $("form-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function submit(event) {
    event.preventDefault();
    formError("");
    const button = $("analyze-button");
    if (button.disabled) return;
    const body = {
      max_frames: Number.parseInt($("max-frames").value, 10) || 8,
      frame_strategy: $("frame-strategy").value,
      vision_quantization: $("vision-quantization").value,
      text_quantization: $("text-quantization").value,
    };
    const language = $("language").value.trim();
    const prompt = $("prompt").value.trim();
    if (language) body.language = language;
    if (prompt) body.prompt = prompt;

    const urlInput = $("url");
    urlInput.removeAttribute("aria-invalid");
    let file = null;
    if (source() === "url") {
      const url = urlInput.value.trim();
      if (!url) {
        urlInput.setAttribute("aria-invalid", "true");
        formError("Paste the link of a video.");
        urlInput.focus();
        return;
      }
      body.youtube_url = url;
    } else {
      file = $("file").files[0];
      if (!file) {
        formError("Choose a video file.");
        $("file").focus();
        return;
      }
    }

    button.disabled = true;
    const label = button.textContent;
    try {
      if (file) {
        button.textContent = "Uploading…";
        const uploaded = await upload(file, (share) => {
          button.textContent = `Uploading ${Math.round(share * 100)} %`;
        });
        body.youtube_url = uploaded.url;
      }
      button.textContent = "Starting…";
      const started = await apiJson("analyze", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      openTask(started.task_id, { focus: true });
      loadTasks();
    } catch (error) {
      formError(error.message);
      if (source() === "url") urlInput.setAttribute("aria-invalid", "true");
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  // ---- the task list -----------------------------------------------------------------------------

  let listed = [];
  let listTimer = null;

  async function loadTasks() {
    clearTimeout(listTimer);
    try {
      const page = await apiJson("tasks?limit=50");
      listed = page.tasks;
      $("tasks-error").hidden = true;
      renderTaskList();
    } catch (error) {
      $("tasks-error").textContent = `The tasks could not be listed: ${error.message}`;
      $("tasks-error").hidden = false;
    }
    if (listed.some((task) => !TERMINAL.has(task.status))) listTimer = setTimeout(loadTasks, TASK_LIST_REFRESH_MS);
  }

  function renderTaskList() {
    const list = $("task-list");
    $("tasks-empty").hidden = listed.length > 0;
    list.replaceChildren(...listed.map((task) => {
      const name = taskName(task);
      const status = BADGE_TEXT[task.status] || STATUS_TEXT[task.status] || task.status;
      const item = h("li", { class: "task-item", "data-task-id": task.task_id,
        "aria-current": current && current.id === task.task_id ? "true" : null });
      const actions = h("div", { class: "task-actions" });
      const askToDelete = () => {
        actions.replaceChildren(
          h("span", { class: "ask" }, "Delete?"),
          h("button", { type: "button", class: "confirm", "aria-label": `Confirm: delete ${name}`,
            onclick: () => deleteTask(task.task_id) }, "Delete"),
          h("button", { type: "button", onclick: () => { showActions(); item.querySelector(".task-open").focus(); } },
            "Keep"),
        );
        actions.querySelector(".confirm").focus();
      };
      const showActions = () => {
        actions.replaceChildren(h("button", { type: "button", "aria-label": `Delete ${name}`, title: "Delete",
          onclick: askToDelete }, "Delete"));
      };
      showActions();
      item.append(
        h("button", { type: "button", class: "task-open", title: task.youtube_url,
          "aria-label": `Open ${name}, ${status}`, onclick: () => openTask(task.task_id, { focus: true }) },
        h("span", { class: `dot ${task.status}${isRunning(task.status) ? " running" : ""}`, "aria-hidden": "true" }),
        h("span", { class: "task-name" }, name),
        h("span", { class: "task-when" }, `${status} · ${when(task.created_at)}`)),
        actions,
      );
      return item;
    }));
  }

  async function deleteTask(taskId) {
    try {
      const answer = await apiJson(`tasks/${encodeURIComponent(taskId)}`, { method: "DELETE" });
      if (current && current.id === taskId) closeTask();
      listed = listed.filter((task) => task.task_id !== taskId);
      renderTaskList();
      toast(answer.message || "The task was deleted.");
      $("refresh-tasks").focus();
    } catch (error) {
      toast(`The task could not be deleted: ${error.message}`);
      loadTasks();
    }
  }

  // ---- one task: following it ----------------------------------------------------------------

  let current = null;

  function closeTask() {
    if (current) {
      current.controller.abort();
      for (const url of current.blobs) URL.revokeObjectURL(url);
    }
    current = null;
    $("task").hidden = true;
    $("task").replaceChildren();
    $("welcome").hidden = false;
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    renderTaskList();
  }

  function openTask(taskId, { focus = false } = {}) {
    if (current && current.id === taskId) {
      if (focus) focusTitle();
      return;
    }
    closeTask();
    const view = { id: taskId, controller: new AbortController(), task: null, blobs: [], parts: null,
      resultKey: null, focus };
    current = view;
    history.replaceState(null, "", `#task=${encodeURIComponent(taskId)}`);
    $("welcome").hidden = true;
    const article = $("task");
    article.hidden = false;
    article.replaceChildren(h("div", { class: "card task-head" }, h("p", { class: "muted" }, "Loading the task…")));
    renderTaskList();
    follow(view);
  }

  function focusTitle() {
    const title = document.querySelector("#task h1");
    if (title) {
      title.focus({ preventScroll: true });
      title.closest(".card").scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "auto" : "smooth" });
    }
  }

  async function follow(view) {
    const { signal } = view.controller;
    try {
      const task = await apiJson(`tasks/${encodeURIComponent(view.id)}`, { signal });
      render(view, task);
      if (view.focus) focusTitle();
      if (TERMINAL.has(task.status)) return;
      if (await followEvents(view)) return;
      await poll(view);
    } catch (error) {
      if (signal.aborted) return;
      renderLoadError(view, error);
    }
  }

  /** Follows GET /tasks/{id}/events; true once its `done` event was shown, false when it cannot. */
  async function followEvents(view) {
    const { signal } = view.controller;
    let response;
    try {
      response = await api(`tasks/${encodeURIComponent(view.id)}/events`,
        { signal, headers: { Accept: "text/event-stream" }, cache: "no-store" });
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
    if (response.status !== 200 || !response.body) {
      if (response.body) response.body.cancel().catch(() => {});
      return false;
    }
    let finished = false;
    try {
      await readEvents(response.body, signal, (event) => {
        if (event.type === "progress") {
          const data = JSON.parse(event.data);
          progressed(view, data.status, data.progress);
        } else if (event.type === "done") {
          render(view, JSON.parse(event.data));
          finished = true;
          return true;
        }
        return false;
      });
    } catch (error) {
      if (signal.aborted) throw error;
    }
    return finished;
  }

  /** A Server-Sent Events reader: calls onEvent({type, data, id}) per event until it returns true. */
  async function readEvents(body, signal, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const stop = () => reader.cancel().catch(() => {});
    signal.addEventListener("abort", stop, { once: true });
    let buffer = "";
    let type = "";
    let data = [];
    let id = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (;;) {
          const end = /\r\n|\r|\n/.exec(buffer);
          // A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
          if (!end || (end[0] === "\r" && end.index === buffer.length - 1)) break;
          const line = buffer.slice(0, end.index);
          buffer = buffer.slice(end.index + end[0].length);
          if (line === "") {
            if (data.length && onEvent({ type: type || "message", data: data.join("\n"), id })) {
              stop();
              return;
            }
            type = "";
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue; // a heartbeat
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
          if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
          if (field === "event") type = fieldValue;
          else if (field === "data") data.push(fieldValue);
          else if (field === "id") id = fieldValue;
        }
      }
    } finally {
      signal.removeEventListener("abort", stop);
    }
  }

  /** GET /tasks/{id} every POLL_MS until the task is over. */
  async function poll(view) {
    const { signal } = view.controller;
    while (!signal.aborted) {
      try {
        const task = await apiJson(`tasks/${encodeURIComponent(view.id)}`, { signal });
        render(view, task);
        if (TERMINAL.has(task.status)) return;
      } catch (error) {
        if (signal.aborted) return;
        if (error.status === 404 || error.status === 401) throw error;
        connection(view, `Connection lost (${error.message}); trying again…`);
      }
      await sleep(POLL_MS, signal);
    }
  }

  function progressed(view, status, progress) {
    const before = view.task ? view.task.status : null;
    view.task = { ...view.task, status, progress };
    renderHead(view);
    renderProgress(view);
    if (status !== before) listedStatus(view.id, status, before);
    if (status !== before && !view.task.video_info) {
      // The title and length are learnt while downloading; a new stage may know them: read the task once.
      apiJson(`tasks/${encodeURIComponent(view.id)}`, { signal: view.controller.signal })
        .then((task) => {
          if (current === view && !TERMINAL.has(view.task.status) && !TERMINAL.has(task.status)) {
            view.task = { ...task, status: view.task.status, progress: view.task.progress };
            renderHead(view);
            if (task.video_info && task.video_info.title) renderTaskList();
          }
        })
        .catch(() => {});
    }
  }

  // ---- one task: showing it ----------------------------------------------------------------------

  function render(view, task) {
    if (current !== view) return;
    const before = view.task ? view.task.status : null;
    view.task = task;
    if (!view.parts) {
      view.parts = {
        head: h("header", { class: "card task-head" }),
        progress: h("section", { class: "card progress-panel", "aria-label": "Progress" }),
        error: h("section", { class: "card error-panel", role: "alert", hidden: true }),
        result: h("div", { class: "task result", hidden: true }),
      };
      $("task").replaceChildren(view.parts.head, view.parts.progress, view.parts.error, view.parts.result);
      view.parts.result.addEventListener("click", (event) => {
        const button = event.target.closest("button.time");
        if (button) jumpTo(view, Number(button.dataset.time));
      });
    }
    const named = titles.has(task.task_id);
    renderHead(view);
    renderProgress(view);
    renderError(view);
    renderResult(view);
    if (!named && titles.has(task.task_id)) renderTaskList();
    if (before !== task.status) listedStatus(task.task_id, task.status, before);
  }

  /** Keeps the task list in step with the task on show. */
  function listedStatus(taskId, status, before) {
    const row = listed.find((item) => item.task_id === taskId);
    if (row && row.status !== status) {
      row.status = status;
      renderTaskList();
    }
    if (before && TERMINAL.has(status)) loadTasks();
  }

  function renderLoadError(view, error) {
    if (current !== view) return;
    const message = error.status === 404 ? "This task does not exist (any more)." : error.message;
    $("task").replaceChildren(h("section", { class: "card error-panel", role: "alert" },
      h("h2", null, "The task could not be loaded"), h("p", null, message)));
  }

  function connection(view, message) {
    const line = view.parts && view.parts.progress.querySelector(".connection");
    if (line) {
      line.textContent = message;
      line.hidden = !message;
    }
  }

  function renderHead(view) {
    const task = view.task;
    const info = task.video_info || {};
    const meta = [];
    if (info.channel) meta.push(h("span", null, info.channel));
    if (info.duration) meta.push(h("span", null, `${clock(info.duration)} long`));
    if (task.created_at) meta.push(h("span", null, `Started ${when(task.created_at)}`));
    const started = utc(task.created_at);
    const ended = utc(task.completed_at);
    if (started && ended) meta.push(h("span", null, `took ${elapsed((ended - started) / 1000)}`));
    const url = task.youtube_url || "";
    // Without a title the heading already names the link.
    const link = url.startsWith("upload://") ? h("span", null, "Uploaded file")
      : url && info.title ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, url) : null;
    const badgeClass = TERMINAL.has(task.status) || task.status === "pending" ? task.status : "running";
    view.parts.head.replaceChildren(...[
      h("div", { class: "title-row" },
        h("h1", { tabindex: "-1" }, taskName(task)),
        h("span", { class: `badge ${badgeClass}`, "data-status": task.status },
          BADGE_TEXT[task.status] || "Running")),
      meta.length ? h("p", { class: "task-meta" }, meta) : null,
      link ? h("p", { class: "task-url" }, link) : null,
    ].filter(Boolean));
  }

  function renderProgress(view) {
    const task = view.task;
    const panel = view.parts.progress;
    if (TERMINAL.has(task.status)) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const at = STAGES.findIndex(([status]) => status === task.status);
    const progress = task.progress || {};
    const details = [];
    if (progress.downloaded_bytes !== null && progress.downloaded_bytes !== undefined) {
      details.push(progress.total_bytes
        ? `${bytes(progress.downloaded_bytes)} of ${bytes(progress.total_bytes)}`
        : `${bytes(progress.downloaded_bytes)} downloaded`);
    }
    if (progress.detail && progress.detail !== "downloading") details.push(progress.detail);
    if (typeof progress.fraction === "number") details.push(`${Math.round(progress.fraction * 100)} %`);
    const bar = h("progress", { max: "1", "aria-label": STATUS_TEXT[task.status] || task.status });
    if (typeof progress.fraction === "number") bar.value = Math.min(1, Math.max(0, progress.fraction));
    const connectionLine = panel.querySelector(".connection");
    panel.replaceChildren(
      h("ol", { class: "stepper", "aria-label": "Stages" }, STAGES.map(([status, label], index) => h("li", {
        class: `step ${index < at ? "done" : index === at ? "current" : ""}`,
        "aria-current": index === at ? "step" : null,
      }, h("span", null, label)))),
      h("p", { class: "status-line", role: "status" },
        h("span", { class: "stage-name" }, STATUS_TEXT[task.status] || task.status),
        details.length ? h("span", { class: "muted progress-detail" }, details.join(" · ")) : null),
      bar,
      connectionLine || h("p", { class: "connection", hidden: true }),
      h("p", { class: "hint progress-hint" },
        "The summary, the frames and the transcript appear here when the analysis is done; no need to reload."),
    );
  }

  function renderError(view) {
    const task = view.task;
    const panel = view.parts.error;
    if (task.status !== "failed") {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    panel.replaceChildren(h("h2", null, "The analysis failed"),
      h("p", { class: "task-error" }, task.error || "The service gave no reason."));
  }

  function timeButton(seconds, label) {
    return h("button", { type: "button", class: "time", "data-time": seconds,
      "aria-label": `Go to ${clock(seconds)}`, title: "Show this moment" }, label || clock(seconds));
  }

  function renderResult(view) {
    const task = view.task;
    const box = view.parts.result;
    if (task.status !== "completed") {
      box.hidden = true;
      return;
    }
    const key = `${task.task_id}/${task.completed_at}`;
    if (view.resultKey === key) return;
    view.resultKey = key;
    box.hidden = false;
    const sections = [];

    sections.push(h("section", { class: "card summary", "aria-labelledby": "summary-title" },
      h("h2", { id: "summary-title", class: "section-head" }, "Summary"),
      h("p", { class: "summary-text" }, task.summary || "No summary was written.")));

    const side = [];
    if (task.key_points && task.key_points.length) {
      side.push(h("section", { class: "card", "aria-labelledby": "points-title" },
        h("h2", { id: "points-title", class: "section-head" }, "Key points"),
        h("ul", { class: "points" }, task.key_points.map((point) => {
          const match = TIME_PREFIX.exec(point);
          if (!match) return h("li", null, h("span", null, point));
          return h("li", { class: "timed" }, timeButton(parseClock(match[1])),
            h("span", null, point.slice(match[0].length)));
        }))));
    }
    if (task.chapters && task.chapters.length) {
      side.push(h("section", { class: "card", "aria-labelledby": "chapters-title" },
        h("h2", { id: "chapters-title", class: "section-head" }, "Chapters"),
        h("ol", { class: "chapters" }, task.chapters.map((chapter) => h("li", null,
          h("div", { class: "chapter-head" },
            timeButton(chapter.start, `${clock(chapter.start)}–${clock(chapter.end)}`),
            h("span", { class: "chapter-title" }, chapter.title)),
          chapter.summary ? h("p", { class: "chapter-summary" }, chapter.summary) : null)))));
    }
    if (side.length) sections.push(h("div", { class: side.length > 1 ? "split" : "" }, side));

    const frames = task.frames || [];
    if (frames.length) {
      const strip = h("div", { class: "strip", tabindex: "0", role: "list", "aria-label": "Frames, in order" },
        frames.map((frame) => h("figure", { class: "frame", role: "listitem", "data-time": frame.timestamp,
          "data-index": frame.index },
        h("div", { class: "frame-image" },
          h("span", { class: "placeholder" }, "Loading…"),
          timeButton(frame.timestamp)),
        h("figcaption", null, frame.analysis || "No description."))));
      sections.push(h("section", { class: "card frames", "aria-labelledby": "frames-title" },
        h("div", { class: "section-head" }, h("h2", { id: "frames-title" }, "On screen"),
          h("span", { class: "muted" }, `${frames.length} frame${frames.length === 1 ? "" : "s"}`)),
        strip));
    } else if (task.frame_analyses && task.frame_analyses.length) {
      sections.push(h("section", { class: "card frames", "aria-labelledby": "frames-title" },
        h("h2", { id: "frames-title", class: "section-head" }, "On screen"),
        h("ol", null, task.frame_analyses.map((text) => h("li", null, text)))));
    }

    const segments = task.transcript_segments || [];
    const origin = [TRANSCRIPT_SOURCES[task.transcript_source], task.transcript_language].filter(Boolean).join(" · ");
    let transcript;
    if (segments.length) {
      transcript = h("ol", { class: "transcript", "aria-label": "Transcript lines" }, segments.map((segment) =>
        h("li", { "data-start": segment.start, "data-end": segment.end },
          timeButton(segment.start), h("span", { class: "transcript-text" }, segment.text))));
    } else if (task.transcript) {
      transcript = h("p", { class: "transcript-text" }, task.transcript);
    } else {
      transcript = h("p", { class: "empty" }, "This video has no transcript.");
    }
    sections.push(h("section", { class: "card transcript-panel", "aria-labelledby": "transcript-title" },
      h("div", { class: "section-head" }, h("h2", { id: "transcript-title" }, "Transcript"),
        origin ? h("span", { class: "muted" }, origin) : null),
      transcript));

    if (task.notes && task.notes.length) {
      sections.push(h("section", { class: "card notes", "aria-labelledby": "notes-title" },
        h("h2", { id: "notes-title", class: "section-head" }, "Notes"),
        h("ul", null, task.notes.map((note) => h("li", null, note)))));
    }

    box.replaceChildren(...sections);
    loadImages(view, frames, box);
  }

  /** Frame images come through fetch with the key, shown as blob: URLs; a few at a time, in order. */
  async function loadImages(view, frames, box) {
    const { signal } = view.controller;
    const queue = frames.slice();
    const worker = async () => {
      while (queue.length && !signal.aborted) {
        const frame = queue.shift();
        const holder = box.querySelector(`.frame[data-index="${frame.index}"] .frame-image`);
        const placeholder = holder && holder.querySelector(".placeholder");
        try {
          const response = await api(frame.image_url, { signal });
          if (!response.ok) throw new ApiError(response.status, "not available");
          const url = URL.createObjectURL(await response.blob());
          if (signal.aborted) {
            URL.revokeObjectURL(url);
            return;
          }
          view.blobs.push(url);
          if (holder) {
            holder.prepend(h("img", { src: url, alt: `The video at ${clock(frame.timestamp)}` }));
            if (placeholder) placeholder.remove();
          }
        } catch {
          if (signal.aborted) return;
          if (placeholder) placeholder.textContent = "Image not available";
        }
      }
    };
    await Promise.all(Array.from({ length: IMAGE_FETCHES }, worker));
  }

  /** Shows the moment `seconds`: the frame on screen then and the transcript line being spoken. */
  function jumpTo(view, seconds) {
    const box = view.parts.result;
    const behavior = reducedMotion.matches ? "auto" : "smooth";
    const figures = [...box.querySelectorAll(".frame[data-time]")];
    let frame = null;
    for (const figure of figures) {
      if (Number(figure.dataset.time) <= seconds + 0.5) frame = figure;
    }
    frame = frame || figures[0];
    for (const figure of figures) figure.classList.toggle("active", figure === frame);
    if (frame) {
      const strip = frame.parentElement;
      strip.scrollTo({ left: frame.offsetLeft - (strip.clientWidth - frame.offsetWidth) / 2, behavior });
    }

    const lines = [...box.querySelectorAll(".transcript li[data-start]")];
    let line = lines.find((item) => Number(item.dataset.start) <= seconds && seconds < Number(item.dataset.end));
    if (!line) {
      for (const item of lines) {
        if (Number(item.dataset.start) <= seconds) line = item;
      }
    }
    line = line || lines[0];
    for (const item of lines) item.classList.toggle("active", item === line);
    if (line) {
      const list = line.parentElement;
      list.scrollTo({ top: line.offsetTop - list.clientHeight / 3, behavior });
    }

    const target = frame ? frame.closest(".card") : line ? line.closest(".card") : null;
    if (target) target.scrollIntoView({ block: "start", behavior });
  }

  // ---- start -------------------------------------------------------------------------------------

  function openFromHash() {
    const match = /^#task=([^&]+)/.exec(location.hash);
    if (match) openTask(decodeURIComponent(match[1]));
  }

  function start() {
    $("analyze-form").addEventListener("submit", submit);
    $("source-url").addEventListener("change", showSource);
    $("source-file").addEventListener("change", showSource);
    $("prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("analyze-form").requestSubmit();
    });
    $("refresh-tasks").addEventListener("click", loadTasks);
    $("key-button").addEventListener("click", async () => {
      if (await askForKey("Change the API key kept in this browser, or forget it.")) {
        loadTasks();
        if (current) {
          const id = current.id;
          closeTask();
          openTask(id);
        }
      }
    });
    window.addEventListener("hashchange", openFromHash);
    showSource();
    updateKeyButton();
    loadTiers();
    loadTasks();
    openFromHash();
  }

  start();
})();
