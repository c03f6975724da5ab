// Runs aitop's OpenCode plugin under node the way OpenCode runs it: imports the module,
// calls its export once, then hands it recorded calls in order.
//   node opencode_plugin_harness.mjs PLUGIN.mjs CALLS.jsonl
// CALLS.jsonl: lines of the fixtures' recorder format ({"hook":"event","event":{...}} or
// {"hook":"tool.execute.before","input":...,"output":...}), plus {"sleep": MS} (the loop
// runs meanwhile), {"block": MS} (it does not: OpenCode busy) and {"weird": true} (hand
// every hook values OpenCode never sends).
// Prints one JSON line: the exports, and whether any call threw or rejected.
import fs from "node:fs"

const [pluginPath, callsPath] = process.argv.slice(2)
const mod = await import(pluginPath)
const exports = Object.keys(mod)
const plugin = await mod[exports[0]]({ directory: "/home/user/project" })
let threw = 0

async function call(fn, ...args) {
  try {
    await fn(...args)
  } catch (e) {
    threw++
  }
}

for (const line of fs.readFileSync(callsPath, "utf8").split("\n")) {
  if (!line) continue
  const r = JSON.parse(line)
  if (r.sleep) {
    await new Promise((resolve) => setTimeout(resolve, r.sleep))
  } else if (r.block) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, r.block)
  } else if (r.weird) {
    const cyclic = {}
    cyclic.self = cyclic
    for (const name of Object.keys(plugin)) {
      for (const args of [[], [null, null], [undefined], [{ event: null }], [{ event: { type: "session.status", properties: null } }],
                          [{ sessionID: 5, callID: {}, tool: [] }, { args: cyclic }], ["x", 1], [{ event: { type: "message.part.updated", properties: { part: { type: "tool", state: { status: "error", metadata: cyclic } } } } }]]) {
        await call(plugin[name], ...args)
      }
    }
  } else if (r.hook === "event") {
    await call(plugin.event, { event: r.event })
  } else if (typeof plugin[r.hook] === "function") {
    await call(plugin[r.hook], r.input, r.output)
  }
}
// the plugin's sockets never hold a process open: linger so that its queue drains
await new Promise((resolve) => setTimeout(resolve, Number(process.env.LINGER_MS || 1500)))
console.log(JSON.stringify({ exports, hooks: Object.keys(plugin), threw }))
