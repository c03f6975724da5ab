// aitop's OpenCode plugin: written by `aitop install --agent opencode --write`, removed by
// `aitop install --agent opencode --uninstall --write`. Edits to this file are lost then.
//
// OpenCode runs it in-process and hands it every bus event. It forwards the few that aitop
// needs (session status and errors, permission and question prompts, tool calls, the end
// of each step) to aitop's socket as `AITOP/1` frames for the agent `opencode`. Tokens and
// costs are not sent: aitop reads them from OpenCode's own store.
//
// It must never slow OpenCode down or break it: nothing here is awaited by OpenCode, every
// handler catches everything, nothing is printed, and the process never waits for a send
// (the socket is unref'd). Events are queued and sent one frame at a time, so the monitor
// sees them in order (it handles a frame before it closes the connection); a frame that
// did not get through while the socket is there is sent again after a pause; with no
// monitor there they are dropped, and for a second no new connection is tried.
// Only node builtins: OpenCode loads it without npm.
import fs from "node:fs"
import net from "node:net"
import os from "node:os"
import path from "node:path"

const SOCKET = "" // the socket `aitop install --socket PATH` chose; else $AITOP_SOCKET, ~/.aitop/aitop.sock
const MAX_QUEUE = 2000 // events waiting to be sent; more are dropped (and counted)
const MAX_FRAME = 256 * 1024 // bytes of events in one frame (the monitor takes up to 1 MiB)
const SEND_TIMEOUT_MS = 2000
const LATE_MS = 1500 // connected this long ago: too close to the monitor's 2 s to write now
const RETRY_MS = [100, 400, 1600] // pauses before a frame's next connections (then dropped)
const QUIET_MS = 1000 // after a failed send: drop events for this long, try no connection

const parents = new Map() // session id -> parent session id (subagents), as OpenCode says
const MAX_PARENTS = 10000
let queue = []
let dropped = 0
let sending = false
let quietUntil = 0

function socketPath() {
  return SOCKET || process.env.AITOP_SOCKET || path.join(os.homedir(), ".aitop", "aitop.sock")
}

function envelope() {
  const fields = { agent: "opencode", pid: process.pid }
  const tag = process.env.AITOP_TAG
  if (tag) fields.tag = typeof tag.toWellFormed === "function" ? tag.toWellFormed().slice(0, 64) : tag.slice(0, 64)
  return "AITOP/1 " + JSON.stringify(fields) + "\n"
}

function remember(info) {
  if (!info || typeof info.id !== "string") return
  if (typeof info.parentID === "string" && info.parentID) {
    if (parents.size >= MAX_PARENTS) parents.clear()
    parents.set(info.id, info.parentID)
  }
}

function text(value) {
  return typeof value === "string" ? value : undefined
}

function number(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

// A bus event as the small record aitop decodes (aitop/providers/opencode/plugin.py), or null.
function fromEvent(event) {
  const type = event && event.type
  const p = (event && event.properties) || {}
  switch (type) {
    case "session.created": {
      const info = p.info || {}
      remember(info)
      return {
        type,
        sessionID: text(info.id),
        parentID: text(info.parentID),
        directory: text(info.directory),
        agent: text(info.agent),
      }
    }
    case "session.updated":
      remember(p.info)
      return null
    case "session.status":
      return { type, sessionID: text(p.sessionID), status: text(p.status && p.status.type), attempt: number(p.status && p.status.attempt) }
    case "session.error":
      return {
        type,
        sessionID: text(p.sessionID),
        error: text(p.error && p.error.name),
        statusCode: number(p.error && p.error.data && p.error.data.statusCode),
      }
    case "session.deleted":
      return { type, sessionID: text(p.info && p.info.id) }
    case "permission.asked":
    case "permission.replied":
    case "question.asked":
    case "question.replied":
    case "question.rejected":
      return { type, sessionID: text(p.sessionID) }
    case "message.part.updated": {
      const part = p.part || {}
      if (part.type === "step-finish") {
        return { type: "step.finished", sessionID: text(part.sessionID), messageID: text(part.messageID) }
      }
      const state = part.state || {}
      if (part.type === "tool" && (state.status === "completed" || state.status === "error")) {
        const time = state.time || {}
        return {
          type: "tool.finished",
          sessionID: text(part.sessionID),
          callID: text(part.callID),
          tool: text(part.tool),
          status: state.status,
          exit: number(state.metadata && state.metadata.exit),
          start: number(time.start),
          end: number(time.end),
        }
      }
      return null
    }
  }
  return null
}

// The arguments that name what a call works on (aitop shows a few words of them), cut short;
// never contents, edits or prompts.
function named(args) {
  if (!args || typeof args !== "object") return undefined
  const out = {}
  for (const key of ["command", "filePath", "pattern", "url", "subagent_type"]) {
    if (typeof args[key] === "string") out[key] = args[key].slice(0, 300)
  }
  return out
}

// FNV-1a over the arguments' JSON: the same call twice in a row has the same digest.
function digest(args) {
  try {
    const s = JSON.stringify(args)
    if (typeof s !== "string") return undefined
    let h = 0x811c9dc5
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193) >>> 0
    }
    return h
  } catch (e) {
    return undefined
  }
}

function enqueue(record) {
  if (!record || typeof record.sessionID !== "string" || !record.sessionID) return
  if (!record.parentID && parents.has(record.sessionID)) record.parentID = parents.get(record.sessionID)
  if (Date.now() < quietUntil || queue.length >= MAX_QUEUE) {
    dropped++
    return
  }
  queue.push(record)
  if (!sending) send()
}

function send() {
  if (queue.length === 0) return
  if (Date.now() < quietUntil) {
    dropped += queue.length
    queue = []
    return
  }
  const batch = []
  let size = 0
  while (queue.length > 0) {
    let json
    try {
      json = JSON.stringify(queue[0])
    } catch (e) {
      queue.shift()
      dropped++
      continue
    }
    if (batch.length > 0 && size + json.length > MAX_FRAME) break
    queue.shift()
    if (json.length > MAX_FRAME) {
      dropped++
      continue
    }
    batch.push(json)
    size += json.length + 1
  }
  if (batch.length === 0) return
  const frame = envelope() + '{"v":1,"dropped":' + dropped + ',"events":[' + batch.join(",") + "]}"
  const lost = batch.length + dropped // what this frame carries, should it never get through
  dropped = 0
  sending = true
  deliver(frame, lost, 1)
}

// One connection per frame. The monitor gives a connection 2 s from the moment it is
// accepted; when OpenCode's event loop is busy, this process may only get to write long
// after connecting, into a connection the monitor has closed. So a frame whose
// connection went wrong is sent again on a new one, after a pause (the loop runs again by
// then), as long as the socket is there. The error's code decides nothing: OpenCode runs
// on Bun, which says ENOENT for a full backlog and ECONNREFUSED for a connection the
// monitor cut while OpenCode was busy (both seen with OpenCode 1.18.33 under load).
function deliver(frame, lost, attempt) {
  const started = Date.now()
  let done = false
  const finish = (ok, retry) => {
    if (done) return
    done = true
    if (ok) {
      sending = false
      if (queue.length > 0) send()
    } else if (retry && attempt <= RETRY_MS.length && listening()) {
      setTimeout(() => deliver(frame, lost, attempt + 1), RETRY_MS[attempt - 1]).unref()
    } else {
      sending = false
      quietUntil = Date.now() + QUIET_MS
      dropped += lost + queue.length
      queue = []
    }
  }
  try {
    const sock = net.createConnection({ path: socketPath() })
    sock.unref() // OpenCode never waits for aitop, not even to exit
    sock.setTimeout(SEND_TIMEOUT_MS, () => sock.destroy())
    sock.on("error", () => finish(false, true))
    sock.on("connect", () => {
      if (Date.now() - started > LATE_MS) sock.destroy() // the monitor may be closing it
      else sock.end(frame)
    })
    sock.on("data", () => {})
    sock.on("close", (hadError) => {
      if (!hadError) finish(sock.bytesWritten > 0, true)
    })
  } catch (e) {
    finish(false, false)
  }
}

// A socket file where aitop's socket should be: a monitor may be listening (one that died
// leaves it behind, and then the pauses above are all it costs).
function listening() {
  try {
    return fs.statSync(socketPath()).isSocket()
  } catch (e) {
    return false
  }
}

function safely(handler) {
  return async (...args) => {
    try {
      handler(...args)
    } catch (e) {
      // aitop must never break OpenCode
    }
  }
}

export const AitopPlugin = async () => ({
  event: safely(({ event }) => enqueue(fromEvent(event))),
  "tool.execute.before": safely((input, output) =>
    enqueue({
      type: "tool.started",
      sessionID: text(input && input.sessionID),
      callID: text(input && input.callID),
      tool: text(input && input.tool),
      argsHash: digest(output && output.args),
      args: named(output && output.args),
    }),
  ),
  "chat.message": safely((input) =>
    enqueue({
      type: "prompt",
      sessionID: text(input && input.sessionID),
      providerID: text(input && input.model && input.model.providerID),
      modelID: text(input && input.model && input.model.modelID),
    }),
  ),
})
