/**
 * Client of the native signaling protocol (docs/PROTOCOL.md, "Signaling"): a WebSocket at `/signaling?v=1`
 * with JSON text frames. The server assigns the peer id (`welcome`), hands out ICE servers with ephemeral
 * TURN credentials, answers `join` with candidate peers and relays offer/answer/candidate between peers
 * of one swarm. This client reconnects with exponential back-off and resumes its peer id with the
 * server-issued resume token, then re-joins its swarms.
 */

export interface IceServerInfo {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface CandidatePeer {
  peer_id: string;
  role?: string;
  chunks?: number;
  total?: number;
  same_group?: boolean;
}

export type SignalMessage =
  | { type: "welcome"; v: number; peer_id: string; resume_token: string; resumed: boolean; heartbeat_interval?: number; ice_servers?: IceServerInfo[]; max_peers?: number }
  | { type: "joined"; id?: number; swarm: string; peers: CandidatePeer[] }
  | { type: "offer" | "answer"; from: string; swarm: string; cid?: string; sdp: string }
  | { type: "candidate"; from: string; swarm: string; cid?: string; candidate: RTCIceCandidateInit | null }
  | { type: "peer-left"; peer_id: string; swarm: string }
  | { type: "ice-servers"; ice_servers: IceServerInfo[]; ttl?: number }
  | { type: "error"; code: string; message: string; id?: number; ref?: string }
  | { type: "pong" | "left"; id?: number };

export interface JoinInfo {
  swarm: string;
  token?: string;
  chunks: number;
  total: number;
  /** What we hold, bit i (MSB first) = chunk i; sent when at most 8192 bytes (the server's bound). */
  bitfield?: Uint8Array;
  maxConnections: number;
  connections?: number;
  want: number;
}

/** The server accepts bitfields up to 8192 bytes (65,536 chunks); larger content sends counts only. */
const MAX_BITFIELD = 8192;

/** base64url without padding, as the protocol's `bitfield`. */
export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function bitfieldField(b: Uint8Array | undefined): { bitfield?: string } {
  return b && b.length > 0 && b.length <= MAX_BITFIELD ? { bitfield: base64url(b) } : {};
}

/** The subset of the WebSocket constructor the client needs (injectable for tests). */
export type WebSocketFactory = (url: string) => WebSocket;

export interface SignalingClientOptions {
  /** Base URL of the server (http(s)://host:port); the WebSocket URL is derived from it. */
  server: string;
  createSocket?: WebSocketFactory;
  /** First reconnect delay; doubles up to maxBackoffMs, with jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long the first connection may take before `connect()` gives up (the SDK then runs HTTP-only). */
  connectTimeoutMs?: number;
}

/** Reconnect delays: 0.5 s doubling to 30 s, so a restarting server is not stampeded by its viewers. */
const MIN_BACKOFF = 500;
const MAX_BACKOFF = 30_000;
/** Heartbeat when the server does not say (the server's idle timeout is larger). */
const DEFAULT_HEARTBEAT = 15_000;

export function signalingUrl(server: string, resumeToken?: string): string {
  const u = new URL("/signaling", server);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set("v", "1");
  if (resumeToken) u.searchParams.set("resume", resumeToken);
  return u.toString();
}

/** Next back-off delay: exponential with full jitter in [d/2, d]. */
export function backoffDelay(attempt: number, min = MIN_BACKOFF, max = MAX_BACKOFF, random = Math.random): number {
  const d = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(d / 2 + random() * (d / 2));
}

export class SignalingClient extends EventTarget {
  peerId: string | undefined;
  iceServers: IceServerInfo[] = [];
  private ws: WebSocket | undefined;
  private resumeToken: string | undefined;
  private attempt = 0;
  private closed = false;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly joins = new Map<string, JoinInfo>();
  private readonly pendingJoins = new Map<number, (r: { peers: CandidatePeer[] } | { error: string }) => void>();
  private nextId = 1;
  private readonly o: Required<Omit<SignalingClientOptions, "createSocket">> & { createSocket: WebSocketFactory };
  /** Messages to deliver (offer/answer/candidate/peer-left); set by the mesh. */
  onMessage: ((m: SignalMessage) => void) | undefined;

  constructor(options: SignalingClientOptions) {
    super();
    this.o = {
      server: options.server,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url)),
      minBackoffMs: options.minBackoffMs ?? MIN_BACKOFF,
      maxBackoffMs: options.maxBackoffMs ?? MAX_BACKOFF,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    };
  }

  get connected(): boolean {
    return this.ws?.readyState === 1 && this.peerId !== undefined;
  }

  /** Opens the first connection; resolves on `welcome`, rejects on failure or time-out (reconnects go on in the background). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`signaling: no welcome from ${this.o.server} within ${this.o.connectTimeoutMs} ms`));
      }, this.o.connectTimeoutMs);
      const onWelcome = () => {
        cleanup();
        resolve();
      };
      // Refused or dropped before the welcome: report at once (the caller goes on over HTTP) and keep retrying.
      const onDown = () => {
        cleanup();
        reject(new Error(`signaling: cannot connect to ${this.o.server}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.removeEventListener("welcome", onWelcome);
        this.removeEventListener("disconnected", onDown);
      };
      this.addEventListener("welcome", onWelcome);
      this.addEventListener("disconnected", onDown);
      this.open();
    });
  }

  private open(): void {
    if (this.closed) return;
    let ws: WebSocket;
    try {
      ws = this.o.createSocket(signalingUrl(this.o.server, this.resumeToken));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let m: SignalMessage;
      try {
        m = JSON.parse(e.data) as SignalMessage;
      } catch {
        return;
      }
      if (typeof m !== "object" || m === null || typeof m.type !== "string") return;
      this.handle(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.stopHeartbeat();
      this.dispatchEvent(new Event("disconnected"));
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, this.o.minBackoffMs, this.o.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }

  private handle(m: SignalMessage): void {
    switch (m.type) {
      case "welcome": {
        if (typeof m.peer_id !== "string") return;
        const changed = this.peerId !== undefined && this.peerId !== m.peer_id;
        this.peerId = m.peer_id;
        this.resumeToken = m.resume_token;
        this.iceServers = Array.isArray(m.ice_servers) ? m.ice_servers : [];
        this.attempt = 0;
        this.startHeartbeat(m.heartbeat_interval ?? DEFAULT_HEARTBEAT);
        this.dispatchEvent(new CustomEvent("welcome", { detail: { resumed: m.resumed, changed } }));
        // After a reconnect, re-join what we were in (the server forgot us, or knows us again by the token).
        for (const j of this.joins.values()) this.sendJoin(j);
        break;
      }
      case "joined": {
        const cb = m.id !== undefined ? this.pendingJoins.get(m.id) : undefined;
        if (m.id !== undefined) this.pendingJoins.delete(m.id);
        const peers = Array.isArray(m.peers) ? m.peers.filter((p) => typeof p?.peer_id === "string" && p.peer_id !== this.peerId) : [];
        cb?.({ peers });
        this.dispatchEvent(new CustomEvent("joined", { detail: { swarm: m.swarm, peers } }));
        break;
      }
      case "ice-servers":
        if (Array.isArray(m.ice_servers)) this.iceServers = m.ice_servers;
        break;
      case "error": {
        const cb = m.id !== undefined ? this.pendingJoins.get(m.id) : undefined;
        if (cb && m.id !== undefined) {
          this.pendingJoins.delete(m.id);
          cb({ error: `${m.code}: ${m.message}` });
        }
        this.dispatchEvent(new CustomEvent("error", { detail: m }));
        break;
      }
      case "offer":
      case "answer":
      case "candidate":
      case "peer-left":
        this.onMessage?.(m);
        break;
      default:
        break;
    }
  }

  private startHeartbeat(ms: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.send({ type: "ping" }), Math.max(1000, ms));
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  send(message: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== 1) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  private sendJoin(j: JoinInfo, id?: number): void {
    this.send({
      type: "join",
      ...(id !== undefined ? { id } : {}),
      swarm: j.swarm,
      role: "browser",
      chunks: j.chunks,
      total: j.total,
      ...bitfieldField(j.bitfield),
      max_connections: j.maxConnections,
      connections: j.connections ?? 0,
      want: j.want,
      ...(j.token ? { token: j.token } : {}),
    });
  }

  /** Joins a swarm; resolves with the candidate peers the server chose (or rejects with the server's error). */
  join(j: JoinInfo, timeoutMs = 5000): Promise<CandidatePeer[]> {
    this.joins.set(j.swarm, j);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingJoins.delete(id);
        reject(new Error("signaling: join timed out"));
      }, timeoutMs);
      this.pendingJoins.set(id, (r) => {
        clearTimeout(timer);
        if ("error" in r) reject(new Error(r.error));
        else resolve(r.peers);
      });
      if (!this.connected) {
        clearTimeout(timer);
        this.pendingJoins.delete(id);
        reject(new Error("signaling: not connected"));
        return;
      }
      this.sendJoin(j, id);
    });
  }

  /** Our holdings and counters for the server's candidate selection and its /stats. */
  have(swarm: string, chunks: number, total: number, connections: number, bitfield?: Uint8Array, uploaded?: number, served?: number): void {
    const j = this.joins.get(swarm);
    if (j) {
      j.chunks = chunks;
      j.connections = connections;
      if (bitfield) j.bitfield = bitfield;
    }
    this.send({
      type: "have",
      swarm,
      chunks,
      total,
      ...bitfieldField(bitfield),
      connections,
      ...(uploaded !== undefined ? { uploaded: Math.floor(uploaded) } : {}),
      ...(served !== undefined ? { served } : {}),
    });
  }

  leave(swarm: string): void {
    this.joins.delete(swarm);
    this.send({ type: "leave", swarm });
  }

  relay(type: "offer" | "answer", to: string, swarm: string, cid: string, sdp: string): boolean {
    return this.send({ type, to, swarm, cid, sdp });
  }

  candidate(to: string, swarm: string, cid: string, candidate: RTCIceCandidateInit | null): boolean {
    return this.send({ type: "candidate", to, swarm, cid, candidate });
  }

  close(): void {
    this.closed = true;
    this.stopHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const j of this.joins.keys()) this.send({ type: "leave", swarm: j });
    this.ws?.close(1000);
    this.ws = undefined;
  }
}
