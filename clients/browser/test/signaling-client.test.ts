import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, base64url, SignalingClient, signalingUrl } from "../src/signaling-client.js";

/** A scripted stand-in for the browser's WebSocket: the test plays the server. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  open(peerId: string, token: string): void {
    this.readyState = 1;
    this.deliver({ type: "welcome", v: 1, peer_id: peerId, resume_token: token, resumed: false, heartbeat_interval: 60000, ice_servers: [{ urls: ["turn:t.example:3478"], username: "1:x", credential: "c" }] });
  }
  deliver(m: unknown): void {
    this.onmessage?.({ data: typeof m === "string" ? m : JSON.stringify(m) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

function client(): SignalingClient {
  FakeSocket.all = [];
  return new SignalingClient({ server: "https://cdn.example.com/", createSocket: (u) => new FakeSocket(u) as unknown as WebSocket, minBackoffMs: 1, maxBackoffMs: 4 });
}

/** The longest reconnect back-off of client(): advancing virtual time by it fires the reconnect. */
const MAX_BACKOFF_MS = 4;

test("the WebSocket URL carries the version and the resume token", () => {
  assert.equal(signalingUrl("http://h:8080/x"), "ws://h:8080/signaling?v=1");
  assert.equal(signalingUrl("https://h/", "tok"), "wss://h/signaling?v=1&resume=tok");
});

test("back-off doubles from the minimum to the cap, with jitter in [d/2, d]", () => {
  assert.equal(backoffDelay(0, 500, 30000, () => 1), 500);
  assert.equal(backoffDelay(3, 500, 30000, () => 1), 4000);
  assert.equal(backoffDelay(30, 500, 30000, () => 1), 30000);
  assert.equal(backoffDelay(30, 500, 30000, () => 0), 15000);
});

test("welcome gives the server-assigned peer id and the ICE servers with TURN credentials", async () => {
  const c = client();
  const p = c.connect();
  FakeSocket.all[0]!.open("peer-A", "tok-1");
  await p;
  assert.equal(c.peerId, "peer-A");
  assert.deepEqual(c.iceServers[0], { urls: ["turn:t.example:3478"], username: "1:x", credential: "c" });
  c.close();
});

test("join resolves with the candidates (never ourselves) and a server error rejects it", async () => {
  const c = client();
  const p = c.connect();
  const ws = FakeSocket.all[0]!;
  ws.open("me", "t");
  await p;
  const j = c.join({ swarm: "s1", chunks: 0, total: 4, maxConnections: 8, want: 8 });
  const sent = ws.sent.at(-1)!;
  assert.equal(sent.type, "join");
  assert.equal(sent.swarm, "s1");
  ws.deliver({ type: "joined", id: sent.id, swarm: "s1", peers: [{ peer_id: "a" }, { peer_id: "me" }, { nonsense: 1 }] });
  assert.deepEqual((await j).map((x) => x.peer_id), ["a"]);
  const k = c.join({ swarm: "s2", chunks: 0, total: 4, maxConnections: 8, want: 8 });
  ws.deliver({ type: "error", code: "unauthorized", message: "a valid join token is required", id: ws.sent.at(-1)!.id });
  await assert.rejects(k, /unauthorized/);
  c.close();
});

test("after a drop it reconnects with its resume token and re-joins its swarms", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] }); // virtual time: the back-off elapses without waiting
  const c = client();
  const p = c.connect();
  FakeSocket.all[0]!.open("me", "resume-me");
  await p;
  const j = c.join({ swarm: "s1", chunks: 2, total: 4, maxConnections: 8, want: 8 });
  FakeSocket.all[0]!.deliver({ type: "joined", id: FakeSocket.all[0]!.sent.at(-1)!.id, swarm: "s1", peers: [] });
  await j;
  FakeSocket.all[0]!.drop();
  assert.equal(FakeSocket.all.length, 1, "no reconnect before the back-off");
  t.mock.timers.tick(MAX_BACKOFF_MS);
  assert.equal(FakeSocket.all.length, 2);
  const second = FakeSocket.all[1]!;
  assert.match(second.url, /resume=resume-me/);
  second.open("me", "resume-2");
  assert.equal(c.peerId, "me");
  assert.ok(second.sent.some((m) => m.type === "join" && m.swarm === "s1" && m.chunks === 2));
  c.close();
});

test("malformed server messages are ignored, relays reach the handler", async () => {
  const c = client();
  const got: string[] = [];
  c.onMessage = (m) => got.push(m.type);
  const p = c.connect();
  const ws = FakeSocket.all[0]!;
  ws.open("me", "t");
  await p;
  ws.deliver("{not json");
  ws.deliver("42");
  ws.deliver({ nope: true });
  ws.deliver({ type: "offer", from: "a", swarm: "s", cid: "c", sdp: "v=0" });
  assert.deepEqual(got, ["offer"]);
  c.close();
});

test("connect rejects after the time-out when no welcome comes", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  FakeSocket.all = [];
  const c = new SignalingClient({ server: "http://h/", createSocket: (u) => new FakeSocket(u) as unknown as WebSocket, connectTimeoutMs: 20 });
  const p = c.connect();
  t.mock.timers.tick(20);
  await assert.rejects(p, /no welcome/);
  c.close();
});

test("connect rejects at once when the server refuses the connection, and keeps retrying", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const c = client();
  const p = c.connect();
  FakeSocket.all[0]!.drop();
  await assert.rejects(p, /cannot connect/);
  t.mock.timers.tick(MAX_BACKOFF_MS);
  assert.equal(FakeSocket.all.length, 2);
  c.close();
});

test("have carries the bitfield (base64url), connections and upload counters", async () => {
  assert.equal(base64url(new Uint8Array([0xfb, 0xff, 0xbf])), "-_-_");
  const c = client();
  const p = c.connect();
  const ws = FakeSocket.all[0]!;
  ws.open("me", "t");
  await p;
  c.have("s", 3, 10, 2, new Uint8Array([0xe0, 0x00]), 1234.5, 3);
  assert.deepEqual(ws.sent.at(-1), { type: "have", swarm: "s", chunks: 3, total: 10, bitfield: "4AA", connections: 2, uploaded: 1234, served: 3 });
  c.close();
});
