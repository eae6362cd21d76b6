using System.Globalization;
using System.Net;
using Microsoft.Playwright;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.Tests.Net;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Rtc.Tests.Ice;

/// <summary>
/// Our ICE agents against real headless Chromium with its default mDNS host-candidate hiding. DTLS is not ours
/// to finish here (the SDP carries a placeholder fingerprint), so the browser-side assertion is
/// iceConnectionState == "connected", and our side sees Chromium's DTLS records arrive over the selected pair.
/// </summary>
public sealed class IceChromiumTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private const string PageScript = """
        () => {
          window.iceStates = [];
          window.makePc = () => {
            window.pc = new RTCPeerConnection();
            pc.oniceconnectionstatechange = () => iceStates.push(pc.iceConnectionState);
            window.candidates = [];
            pc.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate) candidates.push(e.candidate.candidate); };
            pc.createDataChannel('probe');
          };
          window.iceConnected = () => new Promise((resolve) => {
            const check = () => (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') && resolve(pc.iceConnectionState);
            check();
            pc.addEventListener('iceconnectionstatechange', check);
          });
        }
        """;

    private IBrowserContext _context = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _context = await Chromium.NewContextAsync();
        _page = await _context.NewPageAsync();
        await _page.EvaluateAsync(PageScript);
    }

    public async Task DisposeAsync() => await _context.CloseAsync();

    private static string Attribute(string sdp, string name) =>
        sdp.Split('\n').Select(l => l.TrimEnd('\r')).First(l => l.StartsWith("a=" + name + ":", StringComparison.Ordinal))[(name.Length + 3)..];

    private static string Sdp(IceUdpTransport t, UdpMux mux, string setup, bool lite, string? fingerprint = null) => string.Join("\r\n",
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        .. lite ? new[] { "a=ice-lite" } : [],
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=ice-ufrag:" + t.LocalUfrag,
        "a=ice-pwd:" + t.LocalPassword,
        // A syntactically valid placeholder: DTLS is the next layer's job; ICE completes without it.
        "a=fingerprint:" + (fingerprint ?? "sha-256 " + string.Join(':', Enumerable.Repeat("AB", 32))),
        "a=setup:" + setup,
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        string.Create(CultureInfo.InvariantCulture, $"a=candidate:1 1 udp 2130706431 127.0.0.1 {mux.LocalEndPoint.Port} typ host"),
        "a=end-of-candidates",
        "",
    ]);

    [Fact]
    public async Task Lite_answerer_connects_with_chromium_offer_through_peer_reflexive_discovery()
    {
        await using var us = new IceUdpTransportTests.Peer(new IceAgentOptions { Lite = true });
        us.Start();
        await _page.EvaluateAsync("() => makePc()");
        var offer = await _page.EvaluateAsync<string>("async () => { await pc.setLocalDescription(await pc.createOffer()); return pc.localDescription.sdp; }");
        us.Transport.SetRemoteCredentials(Attribute(offer, "ice-ufrag"), Attribute(offer, "ice-pwd"));
        await _page.EvaluateAsync("async (sdp) => pc.setRemoteDescription({ type: 'answer', sdp })", Sdp(us.Transport, us.Mux, "passive", lite: true));

        var state = await _page.EvaluateAsync<string>("() => iceConnected()").WaitAsync(Guard);
        Assert.Contains(state, new[] { "connected", "completed" });
        await us.Connected.Task.WaitAsync(Guard);
        Assert.Equal(IceCandidateType.PeerReflexive, us.Transport.SelectedPair!.Remote.Type);

        // Chromium (DTLS client for setup:passive) sends its ClientHello over the pair: RFC 7983 routes it to us as data.
        var record = await us.Received.Reader.ReadAsync().AsTask().WaitAsync(Guard);
        Assert.Equal(22, record[0]);
    }

    [Fact]
    public async Task Full_controlling_offerer_connects_with_chromium_answer_despite_mdns_candidates()
    {
        await using var us = new IceUdpTransportTests.Peer(new IceAgentOptions { Controlling = true });
        us.Start();
        await _page.EvaluateAsync("() => makePc()");
        await _page.EvaluateAsync("async (sdp) => pc.setRemoteDescription({ type: 'offer', sdp })", Sdp(us.Transport, us.Mux, "actpass", lite: false));
        var answer = await _page.EvaluateAsync<string>("async () => { await pc.setLocalDescription(await pc.createAnswer()); return pc.localDescription.sdp; }");
        us.Transport.SetRemoteCredentials(Attribute(answer, "ice-ufrag"), Attribute(answer, "ice-pwd"));

        var state = await _page.EvaluateAsync<string>("() => iceConnected()").WaitAsync(Guard);
        Assert.Contains(state, new[] { "connected", "completed" });
        await us.Connected.Task.WaitAsync(Guard);
        Assert.True(us.Transport.SelectedPair is not null);

        // Chromium's trickled candidates are mDNS names: ignored without a resolver, the pair was found peer-reflexively.
        var trickled = await _page.EvaluateAsync<string[]>("() => candidates");
        foreach (var line in trickled)
        {
            Assert.True(IceCandidate.TryParse(line, out var c, out var error), error);
            us.Transport.AddRemoteCandidate(c);
        }

        Assert.Equal(IceCandidateType.PeerReflexive, us.Transport.SelectedPair!.Remote.Type);
        Assert.Equal(IPAddress.Loopback, us.Transport.SelectedPair.LocalBase.Address);
    }

    [Fact]
    public async Task Mdns_resolver_resolves_chromium_host_candidate_names()
    {
        await _page.EvaluateAsync("() => makePc()");
        var lines = await _page.EvaluateAsync<string[]>("""
            async () => {
              const done = new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
              await pc.setLocalDescription(await pc.createOffer());
              await done;
              return candidates;
            }
            """).WaitAsync(Guard);
        var mdns = lines.Select(l => IceCandidate.TryParse(l, out var c, out _) ? c : null).First(c => c is { IsMdns: true })!;
        var address = await new MdnsResolver { Timeout = TimeSpan.FromSeconds(3) }.ResolveAsync(mdns.Address).WaitAsync(Guard);
        Assert.NotNull(address);
        Assert.Contains(address, System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(u => u.Address));
    }

    [Fact]
    public async Task Lite_ice_with_our_dtls_server_reaches_connected_in_chromium()
    {
        // The layering the PeerConnection will use: ICE owns the port, RFC 7983 sends DTLS records to the DTLS
        // endpoint, DTLS output leaves over ICE's selected pair; one driver task owns the DTLS endpoint.
        await using var us = new IceUdpTransportTests.Peer(new IceAgentOptions { Lite = true });
        var inbox = System.Threading.Channels.Channel.CreateUnbounded<byte[]?>();
        us.Transport.DataReceived = (data, _) => inbox.Writer.TryWrite(data.ToArray());
        us.Start();
        await _page.EvaluateAsync("() => makePc()");
        var offer = await _page.EvaluateAsync<string>("async () => { await pc.setLocalDescription(await pc.createOffer()); return pc.localDescription.sdp; }");
        var remoteFingerprint = WebRtcCdn.Rtc.Certificates.CertificateFingerprint.Parse(Attribute(offer, "fingerprint"));
        using var dtls = new WebRtcCdn.Rtc.Dtls.DtlsEndpoint(new WebRtcCdn.Rtc.Dtls.DtlsEndpointOptions
        {
            Role = WebRtcCdn.Rtc.Dtls.DtlsRole.Server,
            RemoteFingerprints = [remoteFingerprint],
            WakeUp = () => inbox.Writer.TryWrite(null),
        });
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var driver = Task.Run(async () =>
        {
            dtls.Start(TimeSpan.Zero);
            await foreach (var datagram in inbox.Reader.ReadAllAsync(stop.Token))
            {
                if (datagram is not null)
                {
                    dtls.HandleDatagram(datagram, TimeSpan.Zero);
                }

                while (dtls.PollTransmit() is { } d)
                {
                    us.Transport.Send(d.Span);
                }

                while (dtls.PollEvent() is { } e)
                {
                    if (e.Kind == WebRtcCdn.Rtc.Dtls.DtlsEventKind.Connected)
                    {
                        connected.TrySetResult();
                    }
                    else if (e.Kind == WebRtcCdn.Rtc.Dtls.DtlsEventKind.Failed)
                    {
                        connected.TrySetException(new InvalidOperationException(e.Reason));
                    }
                }
            }
        });

        us.Transport.SetRemoteCredentials(Attribute(offer, "ice-ufrag"), Attribute(offer, "ice-pwd"));
        var answer = Sdp(us.Transport, us.Mux, "passive", lite: true, fingerprint: WebRtcCdn.Rtc.Certificates.RtcCertificate.Default.Fingerprint.ToString());
        await _page.EvaluateAsync("async (sdp) => pc.setRemoteDescription({ type: 'answer', sdp })", answer);
        var state = await _page.EvaluateAsync<string>("""
            () => new Promise((resolve) => {
              const check = () => (pc.connectionState === 'connected' || pc.connectionState === 'failed') && resolve(pc.connectionState);
              check();
              pc.addEventListener('connectionstatechange', check);
            })
            """).WaitAsync(Guard);
        Assert.Equal("connected", state);
        await connected.Task.WaitAsync(Guard);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driver);
    }
}
