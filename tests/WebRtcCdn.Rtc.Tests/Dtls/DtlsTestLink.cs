using System.Diagnostics;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>A received event with its data copied (DtlsEvent.Data is only valid until the next poll).</summary>
internal sealed record ReceivedEvent(DtlsEventKind Kind, byte[] Data, string? CipherSuite, CertificateFingerprint? RemoteFingerprint, string? Reason);

/// <summary>
/// Two endpoints joined by an in-memory datagram link. The link moves every queued datagram as soon as an endpoint
/// produces it (the handshake threads wake us through DtlsEndpointOptions.WakeUp); a filter can drop or hold
/// datagrams deterministically by direction and index. Virtual time only drives the endpoints' own deadlines.
/// </summary>
internal sealed class DtlsTestLink : IDisposable
{
    /// <summary>Guard against a hung handshake; never reached when things work.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly SemaphoreSlim _wake = new(0);

    public DtlsTestLink(RtcCertificate? clientCertificate = null, RtcCertificate? serverCertificate = null,
        CertificateFingerprint? clientExpects = null, CertificateFingerprint? serverExpects = null,
        TimeSpan? retransmit = null, Action<IDictionary<int, byte[]>>? clientExtensions = null)
    {
        ClientCertificate = clientCertificate ?? RtcCertificate.Generate(DateTimeOffset.UtcNow);
        ServerCertificate = serverCertificate ?? RtcCertificate.Generate(DateTimeOffset.UtcNow);
        Client = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Client,
            Certificate = ClientCertificate,
            RemoteFingerprints = [serverExpects ?? ServerCertificate.Fingerprint],
            InitialRetransmitTimeout = retransmit ?? TimeSpan.FromSeconds(1),
            WakeUp = () => _wake.Release(),
            ClientExtensionsHook = clientExtensions,
        });
        Server = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Server,
            Certificate = ServerCertificate,
            RemoteFingerprints = [clientExpects ?? ClientCertificate.Fingerprint],
            InitialRetransmitTimeout = retransmit ?? TimeSpan.FromSeconds(1),
            WakeUp = () => _wake.Release(),
        });
    }

    public RtcCertificate ClientCertificate { get; }

    public RtcCertificate ServerCertificate { get; }

    public DtlsEndpoint Client { get; }

    public DtlsEndpoint Server { get; }

    public List<ReceivedEvent> ClientEvents { get; } = [];

    public List<ReceivedEvent> ServerEvents { get; } = [];

    /// <summary>Datagrams the client sent (in order), whether delivered or not.</summary>
    public List<byte[]> ClientSent { get; } = [];

    public List<byte[]> ServerSent { get; } = [];

    /// <summary>(fromClient, index within that direction, datagram) => deliver?</summary>
    public Func<bool, int, byte[], bool> Deliver { get; set; } = (_, _, _) => true;

    public TimeSpan Now { get; set; } = TimeSpan.FromSeconds(100);

    public void Start()
    {
        Server.Start(Now);
        Client.Start(Now);
    }

    /// <summary>Moves datagrams and events until nothing is left to move right now.</summary>
    public void Pump()
    {
        bool moved;
        do
        {
            moved = Move(Client, Server, fromClient: true) | Move(Server, Client, fromClient: false);
            moved |= Drain(Client, ClientEvents) | Drain(Server, ServerEvents);
        }
        while (moved);
    }

    /// <summary>Pumps until <paramref name="condition"/> holds; false if the guard expired first.</summary>
    public bool RunUntil(Func<bool> condition)
    {
        var guard = Stopwatch.StartNew();
        while (true)
        {
            Pump();
            if (condition())
            {
                return true;
            }

            var remaining = Guard - guard.Elapsed;
            if (remaining <= TimeSpan.Zero || !_wake.Wait(remaining))
            {
                return condition();
            }
        }
    }

    public bool RunUntilBothConnected() =>
        RunUntil(() => (Client.State == DtlsState.Connected && Server.State == DtlsState.Connected) || Client.State == DtlsState.Failed || Server.State == DtlsState.Failed);

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }

    /// <summary>Sends one datagram straight to an endpoint (for injected garbage).</summary>
    public void Inject(DtlsEndpoint to, ReadOnlySpan<byte> datagram) => to.HandleDatagram(datagram, Now);

    private bool Move(DtlsEndpoint from, DtlsEndpoint to, bool fromClient)
    {
        var moved = false;
        var sent = fromClient ? ClientSent : ServerSent;
        while (from.PollTransmit() is { } datagram)
        {
            var copy = datagram.ToArray();
            sent.Add(copy);
            if (Deliver(fromClient, sent.Count - 1, copy))
            {
                to.HandleDatagram(copy, Now);
            }

            moved = true;
        }

        return moved;
    }

    private static bool Drain(DtlsEndpoint endpoint, List<ReceivedEvent> events)
    {
        var moved = false;
        while (endpoint.PollEvent() is { } e)
        {
            events.Add(new ReceivedEvent(e.Kind, e.Data.ToArray(), e.CipherSuite, e.RemoteFingerprint, e.Reason));
            moved = true;
        }

        return moved;
    }
}
