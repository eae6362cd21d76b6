using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Cluster;

/// <summary>
/// Scale-out over Redis. Per swarm: a sorted set <c>wrc:swarm:{id}</c> (member = peer id, score = expiry in unix
/// ms) and a hash <c>wrc:swarm:{id}:info</c> (peer id -> its summary and node). Each node refreshes its peers'
/// scores every TTL/3 (the heartbeat), so a dead node's peers expire within the TTL; every node sweeps the
/// swarms it has peers in, removes expired members and announces them on <c>wrc:events</c>. Relays to a peer on
/// another node go to that node's own channel <c>wrc:node:{node id}</c>.
/// </summary>
public sealed partial class RedisSignalingCluster : ISignalingCluster
{
    private const string Prefix = "wrc:";
    private const string EventsChannel = Prefix + "events";

    private readonly RedisConnection _connection;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisSignalingCluster> _logger;
    private ConnectionMultiplexer? _redis;
    private IClusterHandler? _handler;
    private Func<List<(string Swarm, SwarmMember Member)>>? _localMembers;
    private ITimer? _heartbeat;
    private volatile bool _stopped;
    private int _beating;

    public RedisSignalingCluster(RedisConnection connection, TimeSpan ttl, TimeProvider time, ILogger<RedisSignalingCluster> logger)
    {
        _connection = connection;
        _ttl = ttl;
        _time = time;
        _logger = logger;
        NodeId = UrlSafeBase64.Encode(RandomNumberGenerator.GetBytes(9));
    }

    public string NodeId { get; }

    private IDatabase Db => (_redis ?? throw new InvalidOperationException("cluster not started")).GetDatabase();

    public async Task StartAsync(IClusterHandler handler, Func<List<(string Swarm, SwarmMember Member)>> localMembers, CancellationToken cancellationToken)
    {
        _handler = handler;
        _localMembers = localMembers;
        _redis = await _connection.GetAsync().ConfigureAwait(false);
        var subscriber = _redis.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(Prefix + "node:" + NodeId), (_, value) => OnRelay(value)).ConfigureAwait(false);
        await subscriber.SubscribeAsync(RedisChannel.Literal(EventsChannel), (_, value) => OnEvent(value)).ConfigureAwait(false);
        var period = _ttl / 3;
        _heartbeat = _time.CreateTimer(_ => _ = BeatAsync(), null, period, period);
    }

    public async Task JoinAsync(string swarm, SwarmMember member)
    {
        var db = Db;
        var batch = db.CreateBatch();
        var tasks = Refresh(batch, swarm, member, NowMs() + (long)_ttl.TotalMilliseconds);
        batch.Execute();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    public async Task LeaveAsync(string swarm, string peerId)
    {
        if (_stopped)
        {
            return;
        }

        var db = Db;
        if (await db.SortedSetRemoveAsync(SwarmKey(swarm), peerId).ConfigureAwait(false))
        {
            await db.HashDeleteAsync(InfoKey(swarm), peerId).ConfigureAwait(false);
            await db.PublishAsync(RedisChannel.Literal(EventsChannel), EventPayload(peerId, swarm)).ConfigureAwait(false);
        }
    }

    public async Task<List<SwarmMember>> SampleAsync(string swarm)
    {
        var db = Db;
        var ids = await db.SortedSetRangeByScoreAsync(SwarmKey(swarm), NowMs(), double.PositiveInfinity, Exclude.Start, skip: 0, take: SwarmRegistry.ScanLimit).ConfigureAwait(false);
        if (ids.Length == 0)
        {
            return [];
        }

        var infos = await db.HashGetAsync(InfoKey(swarm), ids).ConfigureAwait(false);
        var result = new List<SwarmMember>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            if (Decode(ids[i].ToString(), infos[i]) is { } m)
            {
                result.Add(m);
            }
        }

        return result;
    }

    public async Task<string?> NodeOfAsync(string swarm, string peerId)
    {
        var db = Db;
        var score = await db.SortedSetScoreAsync(SwarmKey(swarm), peerId).ConfigureAwait(false);
        if (score is not { } expiry || expiry <= NowMs())
        {
            return null;
        }

        return Decode(peerId, await db.HashGetAsync(InfoKey(swarm), peerId).ConfigureAwait(false))?.Node;
    }

    public async Task PublishRelayAsync(string node, string targetPeer, byte[] payload)
    {
        var message = new byte[targetPeer.Length + 1 + payload.Length];
        Encoding.ASCII.GetBytes(targetPeer, message);
        message[targetPeer.Length] = (byte)'\n';
        payload.CopyTo(message, targetPeer.Length + 1);
        await Db.PublishAsync(RedisChannel.Literal(Prefix + "node:" + node), message).ConfigureAwait(false);
    }

    public Task<bool> IsReachableAsync() => _connection.IsReachableAsync();

    /// <summary>
    /// Test hook: the node stops as if its process died: no more heartbeats, no clean leave; its peers must
    /// vanish from the cluster through the TTL alone.
    /// </summary>
    internal async Task SimulateCrashAsync()
    {
        _stopped = true;
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        // A crashed process loses its one Redis connection, which the other cluster of the node shares.
        await _connection.CloseAbruptlyAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _stopped = true;
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        // The connection is the node's (RedisConnection, disposed by the host after both clusters): only this
        // cluster's subscriptions end here.
        if (_redis is { IsConnected: true } redis)
        {
            try
            {
                var subscriber = redis.GetSubscriber();
                await subscriber.UnsubscribeAsync(RedisChannel.Literal(Prefix + "node:" + NodeId)).ConfigureAwait(false);
                await subscriber.UnsubscribeAsync(RedisChannel.Literal(EventsChannel)).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Redis went away meanwhile: nothing left to unsubscribe.
            }
        }
    }

    /// <summary>Refreshes this node's members and removes (and announces) expired members of the swarms it is in.</summary>
    private async Task BeatAsync()
    {
        if (_stopped || _redis is not { IsConnected: true } || Interlocked.Exchange(ref _beating, 1) == 1)
        {
            return;
        }

        try
        {
            var members = _localMembers!();
            var db = Db;
            var now = NowMs();
            var batch = db.CreateBatch();
            var tasks = new List<Task>();
            var swarms = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (swarm, member) in members)
            {
                tasks.AddRange(Refresh(batch, swarm, member, now + (long)_ttl.TotalMilliseconds));
                swarms.Add(swarm);
            }

            var expiredQueries = swarms.Select(s => (Swarm: s, Task: batch.SortedSetRangeByScoreAsync(SwarmKey(s), double.NegativeInfinity, now))).ToList();
            batch.Execute();
            await Task.WhenAll(tasks).ConfigureAwait(false);
            foreach (var (swarm, query) in expiredQueries)
            {
                foreach (var expired in await query.ConfigureAwait(false))
                {
                    var peerId = expired.ToString();
                    // ZREM decides which node announces the departure: only the one whose removal succeeded.
                    if (await db.SortedSetRemoveAsync(SwarmKey(swarm), peerId).ConfigureAwait(false))
                    {
                        await db.HashDeleteAsync(InfoKey(swarm), peerId).ConfigureAwait(false);
                        _handler!.PeerGone(peerId, swarm);
                        await db.PublishAsync(RedisChannel.Literal(EventsChannel), EventPayload(peerId, swarm)).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            LogHeartbeatFailed(_logger, e);
        }
        finally
        {
            Volatile.Write(ref _beating, 0);
        }
    }

    private Task[] Refresh(IDatabaseAsync db, string swarm, SwarmMember member, long expiresMs)
    {
        var keyTtl = _ttl * 2;
        return
        [
            db.SortedSetAddAsync(SwarmKey(swarm), member.PeerId, expiresMs),
            db.HashSetAsync(InfoKey(swarm), member.PeerId, Encode(member)),
            db.KeyExpireAsync(SwarmKey(swarm), keyTtl),
            db.KeyExpireAsync(InfoKey(swarm), keyTtl),
        ];
    }

    private void OnRelay(RedisValue value)
    {
        var bytes = (byte[]?)value;
        var newline = bytes is null ? -1 : Array.IndexOf(bytes, (byte)'\n');
        if (newline > 0)
        {
            _handler?.DeliverRelay(Encoding.ASCII.GetString(bytes!, 0, newline), bytes.AsMemory(newline + 1));
        }
    }

    private void OnEvent(RedisValue value)
    {
        var parts = value.ToString().Split('\n');
        if (parts.Length == 3 && parts[0] != NodeId)
        {
            _handler?.PeerGone(parts[1], parts[2]);
        }
    }

    private string EventPayload(string peerId, string swarm) => $"{NodeId}\n{peerId}\n{swarm}";

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static RedisKey SwarmKey(string swarm) => Prefix + "swarm:" + swarm;

    private static RedisKey InfoKey(string swarm) => Prefix + "swarm:" + swarm + ":info";

    private static string Encode(SwarmMember m)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("n", m.Node);
            w.WriteNumber("r", (int)m.Role);
            if (m.Group is not null)
            {
                w.WriteString("g", m.Group);
            }

            w.WriteNumber("c", m.Chunks);
            if (m.Total is { } t)
            {
                w.WriteNumber("t", t);
            }

            if (m.Bitfield is not null)
            {
                w.WriteString("b", UrlSafeBase64.Encode(m.Bitfield));
            }

            w.WriteNumber("m", m.MaxConnections);
            w.WriteNumber("k", m.Connections);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static SwarmMember? Decode(string peerId, RedisValue value)
    {
        if (value.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse((string)value!);
            var r = doc.RootElement;
            return new SwarmMember
            {
                PeerId = peerId,
                Node = r.GetProperty("n").GetString(),
                Role = (PeerRole)r.GetProperty("r").GetInt32(),
                Group = r.TryGetProperty("g", out var g) ? g.GetString() : null,
                Chunks = r.GetProperty("c").GetInt32(),
                Total = r.TryGetProperty("t", out var t) ? t.GetInt32() : null,
                Bitfield = r.TryGetProperty("b", out var b) && UrlSafeBase64.TryDecode(b.GetString()!, out var bits) ? bits : null,
                MaxConnections = r.GetProperty("m").GetInt32(),
                Connections = r.GetProperty("k").GetInt32(),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Another version's or a corrupted entry: skip it rather than fail the join.
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster heartbeat failed; retrying at the next beat")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);
}
