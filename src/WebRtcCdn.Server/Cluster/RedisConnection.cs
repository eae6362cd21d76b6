using StackExchange.Redis;

namespace WebRtcCdn.Server.Cluster;

/// <summary>
/// The node's one connection to Redis (signaling.redis), shared by the /signaling and /announce clusters: one
/// multiplexer, one pair of sockets and one reachability answer for /readyz, instead of one per cluster.
/// Connects at first use and keeps retrying in the background while Redis is down (the node starts, reports
/// not-ready, and recovers when Redis comes back).
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    /// <summary>How long /readyz waits for Redis's PING before calling it unreachable.</summary>
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    private readonly Lazy<Task<ConnectionMultiplexer>> _connect;

    public RedisConnection(string connectionString)
    {
        // Parsed now, so a malformed string fails at startup with the configuration error, not at first use.
        var config = ConfigurationOptions.Parse(connectionString);
        // Start (and report not-ready at /readyz) while Redis is down rather than refuse to start.
        config.AbortOnConnectFail = false;
        _connect = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(config));
    }

    /// <summary>The multiplexer (connected, or retrying in the background).</summary>
    public Task<ConnectionMultiplexer> GetAsync() => _connect.Value;

    public async Task<bool> IsReachableAsync()
    {
        if (!_connect.IsValueCreated || !_connect.Value.IsCompletedSuccessfully || _connect.Value.Result is not { IsConnected: true } redis)
        {
            return false;
        }

        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(PingTimeout).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Test hook for a node crash: the connection drops without completing pending commands.</summary>
    internal async Task CloseAbruptlyAsync()
    {
        if (_connect.IsValueCreated)
        {
            await (await _connect.Value.ConfigureAwait(false)).CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connect.IsValueCreated)
        {
            try
            {
                await (await _connect.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Never connected: nothing to close.
            }
        }
    }
}
