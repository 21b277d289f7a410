// The per-call anchor: CALLS sequential GET {api}/jobs/JOB_ID with Node's global fetch (undici,
// keep-alive), each body parsed as JSON.   node fetch-status.mjs API_URL TOKEN JOB_ID CALLS
import { args, report } from "./common.mjs"

const [apiUrl, token, id, calls] = args(["API_URL", "TOKEN", "JOB_ID", "CALLS"])
const n = Number(calls)
const url = `${apiUrl}/jobs/${id}`
const headers = { Authorization: `Bearer ${token}` }
const cpu = process.cpuUsage()
const start = performance.now()
for (let i = 0; i < n; i++) {
  const response = await fetch(url, { headers })
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`)
  await response.json()
}
const seconds = (performance.now() - start) / 1000
const used = process.cpuUsage(cpu)
report({ seconds, opCpu: (used.user + used.system) / 1e6, count: n })
