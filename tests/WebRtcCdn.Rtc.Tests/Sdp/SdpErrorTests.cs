using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Rtc.Tests.Sdp;

/// <summary>Every class of SDP we cannot use is rejected with the line number and the reason.</summary>
public class SdpErrorTests
{
    private static SdpException Fails(string sdp) => Assert.Throws<SdpException>(() => DataChannelDescription.Parse(sdp));

    private static string Chrome(string from, string to)
    {
        Assert.Contains(from, SdpSamples.ChromeOffer, StringComparison.Ordinal);
        return SdpSamples.ChromeOffer.Replace(from, to, StringComparison.Ordinal);
    }

    private static int LineOf(string sdp, string startsWith) =>
        sdp.Split('\n').Select((l, i) => (l, i)).First(x => x.l.StartsWith(startsWith, StringComparison.Ordinal)).i + 1;

    [Fact]
    public void Empty_input()
    {
        Assert.Contains("empty", Fails(string.Empty).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Fails("\r\n\r\n").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Must_start_with_v0()
    {
        var e = Fails("o=- 1 2 IN IP4 127.0.0.1\r\nv=0\r\n");
        Assert.Equal(1, e.LineNumber);
        Assert.Contains("must start with 'v=0'", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, Fails("v=1\r\n").LineNumber);
    }

    [Fact]
    public void Line_that_is_not_type_equals_value()
    {
        var sdp = Chrome("s=-\n", "s=-\nthis is not sdp\n");
        var e = Fails(sdp);
        Assert.Equal(4, e.LineNumber);
        Assert.Equal("this is not sdp", e.Line);
        Assert.StartsWith("SDP line 4 'this is not sdp': expected '<letter>=<value>'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_or_malformed_origin()
    {
        Assert.Contains("no o= line", Fails(Chrome("o=- 4611731400430051336 2 IN IP4 127.0.0.1\n", string.Empty)).Message, StringComparison.Ordinal);
        Assert.Equal(2, Fails(Chrome("o=- 4611731400430051336 2 IN IP4 127.0.0.1", "o=- 1 2")).LineNumber);
    }

    [Fact]
    public void No_application_section()
    {
        var sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
        var e = Fails(sdp);
        Assert.Equal(0, e.LineNumber);
        Assert.Contains("offers no data channel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejected_application_section()
    {
        var sdp = Chrome("m=application 9 ", "m=application 0 ");
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "m=application"), e.LineNumber);
        Assert.Contains("rejected (port 0)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Application_section_that_is_not_a_data_channel()
    {
        var sdp = Chrome("UDP/DTLS/SCTP webrtc-datachannel", "RTP/AVP 96");
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "m=application"), e.LineNumber);
        Assert.Contains("is not a data channel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_media_port()
    {
        var sdp = Chrome("m=application 9 ", "m=application 99999 ");
        Assert.Contains("invalid port", Fails(sdp).Message, StringComparison.Ordinal);
        Assert.Contains("m= needs", Fails(Chrome("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_fingerprint()
    {
        var sdp = Chrome("a=fingerprint:sha-256 " + SdpSamples.Fp1 + "\n", string.Empty);
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "m=application"), e.LineNumber);
        Assert.Contains("no a=fingerprint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_fingerprint_hash()
    {
        var sdp = Chrome("a=fingerprint:sha-256 " + SdpSamples.Fp1, "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "a=fingerprint"), e.LineNumber);
        Assert.Contains("unsupported hash function 'md5'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unsupported hash function 'sha-1'", Fails(Chrome("a=fingerprint:sha-256 " + SdpSamples.Fp1, "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_fingerprint_value()
    {
        Assert.Contains("32 colon-separated hex bytes", Fails(Chrome(SdpSamples.Fp1, "6B:8B")).Message, StringComparison.Ordinal);
        Assert.Contains("invalid hex byte", Fails(Chrome("6B:8B:F0", "6B:8B:G0")).Message, StringComparison.Ordinal);
        Assert.Contains("expected '<hash-function> <hex", Fails(Chrome("a=fingerprint:sha-256 ", "a=fingerprint:")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_or_invalid_ice_credentials()
    {
        var noUfrag = Chrome("a=ice-ufrag:Xk3f\n", string.Empty);
        var e = Fails(noUfrag);
        Assert.Equal(LineOf(noUfrag, "m=application"), e.LineNumber);
        Assert.Contains("no a=ice-ufrag", e.Message, StringComparison.Ordinal);

        Assert.Contains("no a=ice-pwd", Fails(Chrome("a=ice-pwd:0bS9vYqW3c1Hn1hFz8o1KX2L\n", string.Empty)).Message, StringComparison.Ordinal);
        var shortPwd = Chrome("a=ice-pwd:0bS9vYqW3c1Hn1hFz8o1KX2L", "a=ice-pwd:short");
        e = Fails(shortPwd);
        Assert.Equal(LineOf(shortPwd, "a=ice-pwd"), e.LineNumber);
        Assert.Contains("ice-pwd must be 22-256 characters", e.Message, StringComparison.Ordinal);
        Assert.Contains("ice-ufrag must be", Fails(Chrome("a=ice-ufrag:Xk3f", "a=ice-ufrag:X k3f")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_setup_value()
    {
        var sdp = Chrome("a=setup:actpass", "a=setup:maybe");
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "a=setup"), e.LineNumber);
        Assert.Contains("bad setup value 'maybe'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a=sctp-port:abc", "sctp-port must be")]
    [InlineData("a=sctp-port:0", "sctp-port must be")]
    [InlineData("a=sctp-port:70000", "sctp-port must be")]
    public void Bad_sctp_port(string line, string expected)
    {
        var sdp = Chrome("a=sctp-port:5000", line);
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "a=sctp-port"), e.LineNumber);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a=max-message-size:-1")]
    [InlineData("a=max-message-size:lots")]
    [InlineData("a=max-message-size:99999999999999999999999")]
    public void Bad_max_message_size(string line)
    {
        var sdp = Chrome("a=max-message-size:262144", line);
        var e = Fails(sdp);
        Assert.Equal(LineOf(sdp, "a=max-message-size"), e.LineNumber);
        Assert.Contains("max-message-size must be a non-negative integer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Legacy_form_without_sctpmap_or_with_bad_port()
    {
        var noMap = SdpSamples.LegacyLibWebRtcOffer.Replace("a=sctpmap:5000 webrtc-datachannel 1024", "a=sendrecv", StringComparison.Ordinal);
        Assert.Contains("without a matching a=sctpmap", Fails(noMap).Message, StringComparison.Ordinal);
        var badPort = SdpSamples.LegacyLibWebRtcOffer.Replace("DTLS/SCTP 5000", "DTLS/SCTP webrtc", StringComparison.Ordinal);
        Assert.Contains("needs the SCTP port as format", Fails(badPort).Message, StringComparison.Ordinal);
        var badProtocol = SdpSamples.LegacyLibWebRtcOffer.Replace("5000 webrtc-datachannel", "5000 something-else", StringComparison.Ordinal);
        Assert.Contains("sctpmap protocol must be", Fails(badProtocol).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_description()
    {
        var huge = SdpSamples.ChromeOffer + string.Concat(Enumerable.Repeat("a=x-filler:0123456789012345678901234567890123456789\n", 2000));
        Assert.Contains("the limit is 65536", Fails(huge).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Second_session_and_nameless_attribute()
    {
        Assert.Contains("a second v= line", Fails(SdpSamples.ChromeOffer + "\nv=0\n").Message, StringComparison.Ordinal);
        Assert.Contains("attribute without a name", Fails(Chrome("a=mid:0", "a=:0")).Message, StringComparison.Ordinal);
    }
}
