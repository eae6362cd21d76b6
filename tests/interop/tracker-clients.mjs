// Two or more real bittorrent-tracker clients (npm, the WebTorrent tracker client) meet through the tracker
// at the URL given as argv[2] (a comma-separated list spreads the clients over several tracker nodes: client i
// announces to URL i mod n), open WebRTC data channels to each other and exchange a message. The WebRTC stack is
// the one bittorrent-tracker's simple-peer brings in Node: libdatachannel (node-datachannel, via webrtc-polyfill).
// Prints one JSON line per event; exits 0 once every client has received data from a peer, 1 on a tracker
// warning/error (not a single peer connection's failure) or after the guard timeout (argv[4] ms, default 60000).
// Usage: node tracker-clients.mjs ws://127.0.0.1:PORT/announce[,ws://...] [clients=2] [timeoutMs=60000]
import Client from 'bittorrent-tracker'
import { randomBytes } from 'node:crypto'

const announce = process.argv[2]
const urls = (announce ?? '').split(',').filter((u) => u.length > 0)
const count = Number(process.argv[3] ?? 2)
const timeoutMs = Number(process.argv[4] ?? 60000)
if (urls.length === 0 || !(count >= 2)) {
  console.error('usage: node tracker-clients.mjs WS_URL[,WS_URL...] [clients>=2] [timeoutMs]')
  process.exit(2)
}

const log = (event) => console.log(JSON.stringify(event))
const infoHash = randomBytes(20).toString('hex')
const clients = []
const received = new Set()
let finished = false

function finish (code, reason) {
  if (finished) return
  finished = true
  log({ event: code === 0 ? 'done' : 'failed', reason })
  for (const c of clients) c.destroy()
  // libdatachannel keeps native handles alive; exit explicitly once the report is out.
  setTimeout(() => process.exit(code), 200)
}

setTimeout(() => finish(1, `timeout after ${timeoutMs} ms`), timeoutMs).unref()

for (let i = 0; i < count; i++) {
  const name = `client${i}`
  const peerId = Buffer.concat([Buffer.from('-WW0001-'), randomBytes(12)])
  // bittorrent-tracker shares one socket per announce URL within a process, and every client on a socket handles
  // every message for its info_hash: an offer meant for one client would be answered by all of them, and the
  // offerer's second answer fails its connection. Real clients are one per process (or per torrent), so each
  // client gets its own URL (a query the tracker ignores), hence its own socket.
  // No STUN servers: this machine has no route to the default public ones, and waiting for them delays every offer
  // and answer by simple-peer's 5 s gathering timeout (host candidates are all that loopback needs).
  const client = new Client({ infoHash, peerId, announce: [`${urls[i % urls.length]}?client=${i}`], port: 6881 + i, rtcConfig: { iceServers: [] } })
  clients.push(client)
  client.on('error', (err) => finish(1, `${name} error: ${err.message}`))
  client.on('warning', (err) => {
    // bittorrent-tracker reports a peer connection that fails before it opens as a warning too ("Connection
    // error: ..."). One WebRTC connection failing (libdatachannel under a loaded machine) is what a real client rides
    // out with the others; the tracker's own warnings and failures still fail the run.
    if (err.message.startsWith('Connection error:')) {
      log({ event: 'peer-warning', client: name, message: err.message })
      reannounce()
    } else finish(1, `${name} warning: ${err.message}`)
  })
  // A failed connection is retried the way a real client retries it: its next announce carries fresh offers.
  // The tracker asks for one every 120 s; this client sends it at once (a few times at most), so that one
  // libdatachannel failure under load (e.g. "Got a remote candidate without ICE transport" while applying an
  // answer, a known race of that library on a busy CPU) does not outlast the guard timeout.
  // A connection that stalls without an error (no data 20 s after the announce) is retried the same way.
  let reannounces = 0
  let reannounceTimer = null
  let stallTimer = null
  function watchForStall () {
    clearTimeout(stallTimer)
    stallTimer = setTimeout(() => { if (!received.has(name)) reannounce('stalled') }, 20000)
    stallTimer.unref()
  }
  function reannounce (why = 'connection failed') {
    if (finished || reannounceTimer !== null || reannounces >= 3) return
    reannounces++
    // One re-announce for a burst of failures (all of a client's offers can fail together).
    reannounceTimer = setTimeout(() => {
      reannounceTimer = null
      if (finished) return
      log({ event: 'reannounce', client: name, attempt: reannounces, why })
      client.update()
      watchForStall()
    }, 500)
  }
  client.on('update', (data) => log({ event: 'update', client: name, tracker: urls[i % urls.length], complete: data.complete, incomplete: data.incomplete }))
  client.on('peer', (peer) => {
    log({ event: 'peer', client: name, peer: peer.id })
    peer.on('connect', () => {
      log({ event: 'connect', client: name, peer: peer.id })
      peer.send(`hello from ${name}`)
    })
    peer.on('data', (data) => {
      log({ event: 'data', client: name, peer: peer.id, text: Buffer.from(data).toString() })
      received.add(name)
      if (received.size === count) finish(0, 'every client received data over WebRTC')
    })
    peer.on('error', (err) => log({ event: 'peer-error', client: name, message: err.message }))
  })
  // Start one after another so that later clients find earlier ones in the swarm.
  setTimeout(() => { client.start(); watchForStall() }, i * 300)
}
