using System.Text;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

public class DtlsEndpointTests
{
    [Fact]
    public void Handshake_connects_both_roles_and_verifies_fingerprints()
    {
        using var link = new DtlsTestLink();
        link.Start();

        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(DtlsState.Connected, link.Client.State);
        Assert.Equal(DtlsState.Connected, link.Server.State);

        var clientConnected = Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.Connected);
        var serverConnected = Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.Connected);
        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", clientConnected.CipherSuite);
        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", serverConnected.CipherSuite);
        Assert.Equal(link.ServerCertificate.Fingerprint, clientConnected.RemoteFingerprint);
        Assert.Equal(link.ClientCertificate.Fingerprint, serverConnected.RemoteFingerprint);
        Assert.Null(link.Client.PollTimeout());
        Assert.Equal(link.ServerCertificate.Fingerprint, link.Client.RemoteFingerprint);
        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", link.Server.CipherSuite);
    }

    [Fact]
    public void Application_data_flows_both_ways_byte_exact()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());

        var random = new Random(42);
        var sizes = new[] { 1, 2, 100, 1000, link.Client.MaxApplicationDataSize };
        var toServer = sizes.Select(n => { var b = new byte[n]; random.NextBytes(b); return b; }).ToList();
        var toClient = sizes.Select(n => { var b = new byte[n]; random.NextBytes(b); return b; }).ToList();
        foreach (var message in toServer)
        {
            Assert.True(link.Client.SendApplicationData(message));
        }

        foreach (var message in toClient)
        {
            Assert.True(link.Server.SendApplicationData(message));
        }

        link.Pump();

        Assert.Equal(toServer, link.ServerEvents.Where(e => e.Kind == DtlsEventKind.ApplicationData).Select(e => e.Data));
        Assert.Equal(toClient, link.ClientEvents.Where(e => e.Kind == DtlsEventKind.ApplicationData).Select(e => e.Data));
    }

    [Fact]
    public void Zero_copy_protect_produces_a_record_the_peer_decrypts()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());

        var payload = Encoding.ASCII.GetBytes("sctp packet");
        var datagram = new byte[1200];
        var length = link.Client.ProtectApplicationData(payload, datagram);
        Assert.Equal(payload.Length + 37, length);
        link.Inject(link.Server, datagram.AsSpan(0, length));
        link.Pump();

        Assert.Equal(payload, Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }

    [Fact]
    public void Application_data_is_limited_to_one_record()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());

        Assert.Equal(1163, link.Client.MaxApplicationDataSize);
        Assert.Throws<ArgumentException>(() => link.Client.SendApplicationData(new byte[DtlsEndpoint.MaxRecordPayload + 1]));

        // Above the datagram budget but within a record: sent, in a larger datagram, and received intact.
        var big = new byte[DtlsEndpoint.MaxRecordPayload];
        big[^1] = 9;
        Assert.True(link.Client.SendApplicationData(big));
        link.Pump();
        Assert.Equal(big, Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }

    [Fact]
    public void Sending_before_connected_returns_false()
    {
        using var link = new DtlsTestLink();
        Assert.False(link.Client.SendApplicationData([1, 2, 3]));
        Assert.Equal(-1, link.Client.ProtectApplicationData([1], new byte[100]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fingerprint_mismatch_fails_and_never_connects(bool clientHasWrongFingerprint)
    {
        var other = RtcCertificate.Generate(DateTimeOffset.UtcNow).Fingerprint;
        using var link = clientHasWrongFingerprint
            ? new DtlsTestLink(serverExpects: other)
            : new DtlsTestLink(clientExpects: other);
        link.Start();

        Assert.True(link.RunUntil(() => link.Client.State == DtlsState.Failed && link.Server.State == DtlsState.Failed));

        Assert.DoesNotContain(link.ClientEvents, e => e.Kind == DtlsEventKind.Connected);
        Assert.DoesNotContain(link.ServerEvents, e => e.Kind == DtlsEventKind.Connected);
        var detecting = clientHasWrongFingerprint ? link.ClientEvents : link.ServerEvents;
        var failed = Assert.Single(detecting, e => e.Kind == DtlsEventKind.Failed);
        Assert.Contains("does not match the SDP fingerprint", failed.Reason, StringComparison.Ordinal);
        var other2 = clientHasWrongFingerprint ? link.ServerEvents : link.ClientEvents;
        Assert.Contains("bad_certificate", Assert.Single(other2, e => e.Kind == DtlsEventKind.Failed).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Close_notify_closes_both_sides()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());

        link.Client.Close();
        link.Pump();

        Assert.Equal(DtlsState.Closed, link.Client.State);
        Assert.Equal(DtlsState.Closed, link.Server.State);
        Assert.Equal("the peer sent close_notify", Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.Closed).Reason);
        Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.Closed);
        Assert.False(link.Server.SendApplicationData([1]));
        // The server answered with its own close_notify (RFC 5246 sec. 7.2.1).
        Assert.Equal(21, link.ServerSent[^1][0]);
    }

    [Fact]
    public void Fatal_alert_after_the_handshake_fails_the_peer_and_warnings_are_ignored()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());

        link.Server.SendAlert(1, 100); // warning no_renegotiation: harmless
        link.Pump();
        Assert.Equal(DtlsState.Connected, link.Client.State);

        link.Server.SendAlert(2, 80); // fatal internal_error
        link.Pump();
        Assert.Equal(DtlsState.Failed, link.Client.State);
        Assert.Equal("the peer sent fatal alert internal_error(80)", Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.Failed).Reason);
        Assert.False(link.Client.SendApplicationData([1]));
    }

    [Fact]
    public void Rfc7983_demultiplexing()
    {
        Assert.True(DtlsEndpoint.LooksLikeDtls([22, 0xFE, 0xFD]));
        Assert.True(DtlsEndpoint.LooksLikeDtls([63]));
        Assert.False(DtlsEndpoint.LooksLikeDtls([0, 1])); // STUN
        Assert.False(DtlsEndpoint.LooksLikeDtls([64])); // TURN channel
        Assert.False(DtlsEndpoint.LooksLikeDtls([]));
    }

    [Fact]
    public void Handshake_survives_loss_through_retransmission()
    {
        using var link = new DtlsTestLink(retransmit: TimeSpan.FromMilliseconds(20));
        // Drop the first ClientHello, the server's first flight once, and the client's second flight's first datagram.
        link.Deliver = (fromClient, index, _) => fromClient ? index is not (0 or 2) : index is not (1 or 3);
        link.Start();

        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(DtlsState.Connected, link.Client.State);
        Assert.Equal(DtlsState.Connected, link.Server.State);
        Assert.True(link.Client.SendApplicationData([7, 7, 7]));
        link.Pump();
        Assert.Equal([7, 7, 7], Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }

    [Fact]
    public void Lost_final_server_flight_is_resent_by_our_record_layer_after_the_handshake()
    {
        using var link = new DtlsTestLink(retransmit: TimeSpan.FromMilliseconds(20));
        var droppedEpoch1 = 0;
        link.Deliver = (fromClient, _, datagram) =>
        {
            // The server's final flight is change_cipher_spec + epoch-1 Finished: drop it the first time.
            if (!fromClient && droppedEpoch1 < 2 && (datagram[0] == 20 || (datagram[0] == 22 && datagram[4] == 1)))
            {
                droppedEpoch1++;
                return false;
            }

            return true;
        };
        link.Start();

        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(2, droppedEpoch1);
        Assert.Equal(DtlsState.Connected, link.Client.State);
        Assert.True(link.Server.SendApplicationData([1, 2]));
        link.Pump();
        Assert.Equal([1, 2], Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }

    [Fact]
    public void Application_data_arriving_before_the_handshake_completes_is_delivered_after_connected()
    {
        using var link = new DtlsTestLink();
        var held = new List<byte[]>();
        link.Deliver = (fromClient, _, datagram) =>
        {
            // Hold the server's final flight (CCS, epoch-1 Finished) so its first application data overtakes it.
            if (!fromClient && (datagram[0] == 20 || (datagram[0] == 22 && datagram[4] == 1)))
            {
                held.Add(datagram);
                return false;
            }

            return true;
        };
        link.Start();
        Assert.True(link.RunUntil(() => link.Server.State == DtlsState.Connected && held.Count == 2));

        Assert.True(link.Server.SendApplicationData("early"u8));
        link.Pump();
        Assert.Equal(DtlsState.Connecting, link.Client.State);
        foreach (var datagram in held)
        {
            link.Inject(link.Client, datagram);
        }

        Assert.True(link.RunUntil(() => link.ClientEvents.Any(e => e.Kind == DtlsEventKind.ApplicationData)));
        Assert.Equal([DtlsEventKind.Connected, DtlsEventKind.ApplicationData], link.ClientEvents.Select(e => e.Kind));
        Assert.Equal("early"u8.ToArray(), link.ClientEvents[1].Data);
    }

    [Fact]
    public void Fragmented_large_client_hello_is_reassembled()
    {
        // An unknown extension of 3000 bytes pushes the ClientHello over three 1200-byte datagrams, like the
        // post-quantum key shares of Chromium 156 and Firefox 146 (interop notes item 7).
        using var link = new DtlsTestLink(clientExtensions: extensions => extensions[0xFAFA] = new byte[3000]);
        link.Start();

        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(DtlsState.Connected, link.Server.State);
        var helloFragments = link.ClientSent.TakeWhile(d => d[0] == 22 && d[13] == 1).ToList();
        Assert.True(helloFragments.Count >= 3, $"expected a fragmented ClientHello, got {helloFragments.Count} datagram(s)");
        Assert.All(helloFragments, d => Assert.True(d.Length <= 1200));
    }

    [Fact]
    public void Garbage_and_truncated_datagrams_are_dropped_without_harm()
    {
        using var link = new DtlsTestLink();
        var random = new Random(7);
        link.Start();

        // During the handshake.
        foreach (var garbage in Garbage(random))
        {
            link.Inject(link.Server, garbage);
            link.Inject(link.Client, garbage);
        }

        Assert.True(link.RunUntilBothConnected(), $"{link.Client.State} {link.Server.State} {string.Join(",", link.ClientEvents.Select(e => e.Reason))} {string.Join(",", link.ServerEvents.Select(e => e.Reason))} c{link.ClientSent.Count} s{link.ServerSent.Count}");
        Assert.Equal(DtlsState.Connected, link.Client.State);

        // After it: garbage, truncated and tampered records, and a replay.
        Assert.True(link.Client.SendApplicationData("hello"u8));
        var record = link.Client.PollTransmit()!.Value.ToArray();
        link.Inject(link.Server, record);
        link.Inject(link.Server, record); // replay
        foreach (var garbage in Garbage(random))
        {
            link.Inject(link.Server, garbage);
        }

        link.Inject(link.Server, record.AsSpan(0, record.Length - 1)); // truncated
        link.Inject(link.Server, record.AsSpan(0, 12)); // header cut
        var tampered = (byte[])record.Clone();
        tampered[^3] ^= 0x40;
        link.Inject(link.Server, tampered);
        var lying = (byte[])record.Clone();
        lying[11] = 0xFF; // length past the datagram
        link.Inject(link.Server, lying);
        var epoch2 = (byte[])record.Clone();
        epoch2[4] = 2;
        link.Inject(link.Server, epoch2);
        link.Pump();

        Assert.Equal(DtlsState.Connected, link.Server.State);
        Assert.Equal("hello"u8.ToArray(), Assert.Single(link.ServerEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
        Assert.True(link.Server.SendApplicationData("still fine"u8));
        link.Pump();
        Assert.Equal("still fine"u8.ToArray(), Assert.Single(link.ClientEvents, e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }

    [Fact]
    public void Handshake_times_out_on_virtual_time()
    {
        using var server = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Server,
            RemoteFingerprints = [RtcCertificate.Default.Fingerprint],
        });
        var start = TimeSpan.FromSeconds(5);
        server.Start(start);
        Assert.Equal(start + TimeSpan.FromSeconds(30), server.PollTimeout());

        server.HandleTimeout(start + TimeSpan.FromSeconds(29));
        Assert.Equal(DtlsState.Connecting, server.State);
        server.HandleTimeout(start + TimeSpan.FromSeconds(30));

        Assert.Equal(DtlsState.Failed, server.State);
        var failed = server.PollEvent();
        Assert.Equal(DtlsEventKind.Failed, failed!.Value.Kind);
        Assert.Contains("did not complete within 30 s", failed.Value.Reason, StringComparison.Ordinal);
        Assert.Null(server.PollTimeout());
    }

    [Fact]
    public void Client_hello_arriving_before_the_server_starts_is_kept()
    {
        // A 10 s retransmission timeout: only the kept ClientHello can make this connect without a second one.
        using var link = new DtlsTestLink(retransmit: TimeSpan.FromSeconds(10));
        link.Client.Start(link.Now);
        Assert.True(link.RunUntil(() => link.ClientSent.Count > 0));
        Assert.Equal(DtlsState.New, link.Server.State);

        link.Server.Start(link.Now);
        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(DtlsState.Connected, link.Server.State);
        Assert.Single(link.ClientSent, d => d[0] == 22 && d[13] == 1); // one ClientHello, never retransmitted
    }

    [Fact]
    public void Close_during_the_handshake_abandons_it()
    {
        using var link = new DtlsTestLink();
        link.Server.Start(link.Now);
        link.Server.Close();
        Assert.Equal(DtlsState.Closed, link.Server.State);
        Assert.Equal(DtlsEventKind.Closed, link.Server.PollEvent()!.Value.Kind);
        Assert.Throws<InvalidOperationException>(() => link.Server.Start(link.Now));
    }

    [Fact]
    public void Calls_after_dispose_are_harmless()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());
        Assert.True(link.Client.SendApplicationData([1]));
        var datagram = link.Client.PollTransmit()!.Value.ToArray();

        link.Server.Dispose();
        link.Server.HandleDatagram(datagram, link.Now);
        link.Server.HandleTimeout(link.Now);
        Assert.Equal(DtlsState.Closed, link.Server.State);
        Assert.False(link.Server.SendApplicationData([1]));
        Assert.Null(link.Server.PollTransmit());
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new DtlsEndpoint(new DtlsEndpointOptions { Role = DtlsRole.Client, RemoteFingerprints = [] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Client,
            RemoteFingerprints = [RtcCertificate.Default.Fingerprint],
            MaxDatagramSize = 100,
        }));
    }

    private static IEnumerable<byte[]> Garbage(Random random)
    {
        yield return [];
        yield return [22];
        yield return [22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x00]; // header claiming 16 KiB that is not there
        var noise = new byte[300];
        random.NextBytes(noise);
        yield return noise;
        noise = (byte[])noise.Clone();
        noise[0] = 23;
        noise[1] = 0xFE;
        noise[2] = 0xFD;
        noise[3] = 0;
        noise[4] = 1;
        noise[11] = 0;
        noise[12] = 200;
        yield return noise; // plausible epoch-1 application record with a wrong tag
        var handshakeNoise = (byte[])noise.Clone();
        handshakeNoise[0] = 22;
        handshakeNoise[4] = 0;
        yield return handshakeNoise; // plausible epoch-0 handshake record with nonsense inside
    }
}
