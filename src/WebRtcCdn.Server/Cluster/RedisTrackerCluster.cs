using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Cluster;

/// <summary>
/// /announce swarms over Redis, shaped like <see cref="RedisSignalingCluster"/>. Per info_hash (hex, in a hash tag so
/// one swarm's keys share a Redis Cluster slot): a sorted set <c>wrc:t:{ih}:all</c> (member = hex peer_id, score =
/// expiry in unix ms), a sorted set <c>wrc:t:{ih}:done</c> of the complete ones with the same scores, and a hash
/// <c>wrc:t:{ih}:node</c> (peer -> node id). Counts and samples only see scores in the future, so a dead node's
/// peers stop counting when their TTL passes; each node's heartbeat (every TTL/3) refreshes its own peers and
/// sweeps the expired ones out of the swarms it is in. Messages for a peer on another node go to that node's
/// channel <c>wrc:t:node:{node id}</c>. Each operation is one Lua script, so check-and-set is atomic.
/// </summary>
public sealed partial class RedisTrackerCluster : ITrackerCluster
{
    private const string Prefix = "wrc:t:";

    /// <summary>Binary ids are 20 bytes in the protocol; a relay carries the target's two ids as a fixed header.</summary>
    private const int IdBytes = 20;

    /// <summary>
    /// KEYS: all, done, node. ARGV: peer, node, expiry ms, now ms, complete (0/1), key TTL ms, sample count.
    /// Returns {-1} when the peer is live on another node, else {complete, incomplete, peer1, node1, ...}.
    /// ZRANDMEMBER may return expired or self entries, so it asks for twice the sample plus one and filters.
    /// </summary>
    private const string AnnounceScript = """
        local owner = redis.call('HGET', KEYS[3], ARGV[1])
        if owner and owner ~= ARGV[2] then
          local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
          if score and tonumber(score) > tonumber(ARGV[4]) then return {-1} end
        end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        if ARGV[5] == '1' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
        redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
        for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
        local total = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[4], '+inf')
        local complete = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[4], '+inf')
        local result = {complete, total - complete}
        local want = tonumber(ARGV[7])
        if want > 0 then
          local picked = redis.call('ZRANDMEMBER', KEYS[1], want * 2 + 1, 'WITHSCORES')
          local n = 0
          for i = 1, #picked, 2 do
            if n < want and picked[i] ~= ARGV[1] and tonumber(picked[i + 1]) > tonumber(ARGV[4]) then
              local node = redis.call('HGET', KEYS[3], picked[i])
              if node then
                result[#result + 1] = picked[i]
                result[#result + 1] = node
                n = n + 1
              end
            end
          end
        end
        return result
        """;

    /// <summary>
    /// KEYS: all, done, node. ARGV: peer, node, expiry ms, complete (0/1), key TTL ms. The heartbeat's refresh: only
    /// an entry this node still holds, so a beat that read its peers just before one left cannot bring it back.
    /// </summary>
    private const string RefreshScript = """
        if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
        for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
        return 1
        """;

    /// <summary>KEYS: all, done, node. ARGV: peer, node. Removes the peer only if this node still holds it.</summary>
    private const string LeaveScript = """
        if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then
          redis.call('ZREM', KEYS[1], ARGV[1])
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('HDEL', KEYS[3], ARGV[1])
          return 1
        end
        return 0
        """;

    /// <summary>KEYS: all, done, node. ARGV: now ms. Removes up to 1000 expired members (the next beat takes the rest).</summary>
    private const string SweepScript = """
        local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
        for _, p in ipairs(gone) do
          redis.call('ZREM', KEYS[1], p)
          redis.call('ZREM', KEYS[2], p)
          redis.call('HDEL', KEYS[3], p)
        end
        return #gone
        """;

    private readonly RedisConnection _connection;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisTrackerCluster> _logger;
    private ConnectionMultiplexer? _redis;
    private ITrackerClusterHandler? _handler;
    private Func<List<TrackerClusterMember>>? _localMembers;
    private ITimer? _heartbeat;
    private volatile bool _stopped;
    private int _beating;

    public RedisTrackerCluster(RedisConnection connection, TimeSpan ttl, TimeProvider time, ILogger<RedisTrackerCluster> logger)
    {
        _connection = connection;
        _ttl = ttl;
        _time = time;
        _logger = logger;
        NodeId = UrlSafeBase64.Encode(RandomNumberGenerator.GetBytes(9));
    }

    public string NodeId { get; }

    private IDatabase Db => (_redis ?? throw new InvalidOperationException("cluster not started")).GetDatabase();

    public async Task StartAsync(ITrackerClusterHandler handler, Func<List<TrackerClusterMember>> localMembers, CancellationToken cancellationToken)
    {
        _handler = handler;
        _localMembers = localMembers;
        _redis = await _connection.GetAsync().ConfigureAwait(false);
        await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(NodeChannel(NodeId)), (_, value) => OnMessage(value)).ConfigureAwait(false);
        var period = _ttl / 3;
        _heartbeat = _time.CreateTimer(_ => _ = BeatAsync(), null, period, period);
    }

    public async Task<TrackerClusterAnnounce> AnnounceAsync(string infoHash, string peerId, bool complete, int sample)
    {
        var now = NowMs();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(AnnounceScript, Keys(infoHash), AnnounceArgs(peerId, complete, now, sample)).ConfigureAwait(false))!;
        if ((long)result[0] < 0)
        {
            return new TrackerClusterAnnounce(true, 0, 0, []);
        }

        var peers = new List<TrackerClusterPeer>((result.Length - 2) / 2);
        for (var i = 2; i + 1 < result.Length; i += 2)
        {
            if (FromHex((string?)result[i]) is { } id)
            {
                peers.Add(new TrackerClusterPeer(id, (string)result[i + 1]!));
            }
        }

        return new TrackerClusterAnnounce(false, (int)(long)result[0], (int)(long)result[1], peers);
    }

    public async Task LeaveAsync(string infoHash, string peerId)
    {
        if (_stopped)
        {
            return;
        }

        await Db.ScriptEvaluateAsync(LeaveScript, Keys(infoHash), [ToHex(peerId), NodeId]).ConfigureAwait(false);
    }

    public async Task<string?> NodeOfAsync(string infoHash, string peerId)
    {
        var db = Db;
        var keys = Keys(infoHash);
        var member = ToHex(peerId);
        var score = db.SortedSetScoreAsync(keys[0], member);
        var node = db.HashGetAsync(keys[2], member);
        return await score.ConfigureAwait(false) is { } expiry && expiry > NowMs() ? (string?)await node.ConfigureAwait(false) : null;
    }

    public async Task<(int Complete, int Incomplete)[]> CountsAsync(IReadOnlyList<string> infoHashes)
    {
        var db = Db;
        var now = NowMs();
        var batch = db.CreateBatch();
        var queries = infoHashes.Select(h =>
        {
            var keys = Keys(h);
            return (All: batch.SortedSetLengthAsync(keys[0], now, double.PositiveInfinity, Exclude.Start),
                Done: batch.SortedSetLengthAsync(keys[1], now, double.PositiveInfinity, Exclude.Start));
        }).ToList();
        batch.Execute();
        var result = new (int, int)[queries.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var all = await queries[i].All.ConfigureAwait(false);
            var done = await queries[i].Done.ConfigureAwait(false);
            result[i] = ((int)done, (int)Math.Max(0, all - done));
        }

        return result;
    }

    public async Task PublishAsync(string node, string infoHash, string peerId, byte[] payload)
    {
        var message = new byte[(2 * IdBytes) + payload.Length];
        Encoding.Latin1.GetBytes(infoHash, message.AsSpan(0, IdBytes));
        Encoding.Latin1.GetBytes(peerId, message.AsSpan(IdBytes, IdBytes));
        payload.CopyTo(message, 2 * IdBytes);
        await Db.PublishAsync(RedisChannel.Literal(NodeChannel(node)), message).ConfigureAwait(false);
    }

    /// <summary>
    /// Test hook: the node stops as if its process died: no more heartbeats, no clean leave; its peers must
    /// vanish from the swarms through the TTL alone.
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
                await redis.GetSubscriber().UnsubscribeAsync(RedisChannel.Literal(NodeChannel(NodeId))).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Redis went away meanwhile: nothing left to unsubscribe.
            }
        }
    }

    /// <summary>Test hook: one heartbeat now, awaited (beats are idempotent, so one may overlap the timer's).</summary>
    internal Task BeatNowAsync() => BeatCoreAsync();

    /// <summary>Refreshes this node's peers and sweeps expired peers out of the swarms it is in.</summary>
    private async Task BeatAsync()
    {
        if (_stopped || _redis is not { IsConnected: true } || Interlocked.Exchange(ref _beating, 1) == 1)
        {
            return;
        }

        try
        {
            await BeatCoreAsync().ConfigureAwait(false);
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

    private async Task BeatCoreAsync()
    {
        var members = _localMembers!();
        var db = Db;
        var now = NowMs();
        var batch = db.CreateBatch();
        var tasks = new List<Task>(members.Count);
        var swarms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in members)
        {
            tasks.Add(batch.ScriptEvaluateAsync(RefreshScript, Keys(m.InfoHash), [ToHex(m.PeerId), NodeId, now + (long)_ttl.TotalMilliseconds, m.Complete ? 1 : 0, (long)(_ttl * 2).TotalMilliseconds]));
            swarms.Add(m.InfoHash);
        }

        foreach (var swarm in swarms)
        {
            tasks.Add(batch.ScriptEvaluateAsync(SweepScript, Keys(swarm), [now]));
        }

        batch.Execute();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private RedisValue[] AnnounceArgs(string peerId, bool complete, long now, int sample) =>
        [ToHex(peerId), NodeId, now + (long)_ttl.TotalMilliseconds, now, complete ? 1 : 0, (long)(_ttl * 2).TotalMilliseconds, sample];

    private void OnMessage(RedisValue value)
    {
        var bytes = (byte[]?)value;
        if (bytes is null || bytes.Length <= 2 * IdBytes)
        {
            return;
        }

        _handler?.Deliver(Encoding.Latin1.GetString(bytes, 0, IdBytes), Encoding.Latin1.GetString(bytes, IdBytes, IdBytes), bytes.AsMemory(2 * IdBytes));
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string NodeChannel(string node) => Prefix + "node:" + node;

    private static RedisKey[] Keys(string infoHash)
    {
        var tag = Prefix + "{" + ToHex(infoHash) + "}:";
        return [tag + "all", tag + "done", tag + "node"];
    }

    /// <summary>A binary id (20 characters U+0000..U+00FF, one per byte) as lower-case hex, readable in redis-cli.</summary>
    private static string ToHex(string id) => Convert.ToHexStringLower(Encoding.Latin1.GetBytes(id));

    private static string? FromHex(string? hex)
    {
        if (hex is null || hex.Length != 2 * IdBytes)
        {
            return null;
        }

        try
        {
            return Encoding.Latin1.GetString(Convert.FromHexString(hex));
        }
        catch (FormatException)
        {
            // Another version's or a corrupted entry: skip it.
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tracker cluster heartbeat failed; retrying at the next beat")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception);
}
