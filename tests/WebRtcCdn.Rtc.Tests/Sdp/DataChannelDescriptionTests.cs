using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;
using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Rtc.Tests.Sdp;

public class DataChannelDescriptionTests
{
    [Fact]
    public void Parses_chrome_offer()
    {
        var d = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.ChromeOffer));

        Assert.Equal(4611731400430051336UL, d.SessionId);
        Assert.Equal("Xk3f", d.IceUfrag);
        Assert.Equal("0bS9vYqW3c1Hn1hFz8o1KX2L", d.IcePwd);
        Assert.False(d.IceLite);
        Assert.Equal(["trickle"], d.IceOptions);
        Assert.Equal("sha-256 " + SdpSamples.Fp1, Assert.Single(d.Fingerprints).ToString());
        Assert.Equal(SdpSetup.ActPass, d.Setup);
        Assert.Equal("0", d.Mid);
        Assert.Equal(["0"], d.BundleGroup);
        Assert.Equal(5000, d.SctpPort);
        Assert.Equal(262144, d.EffectiveMaxMessageSize);
        Assert.False(d.IsLegacySctp);
        Assert.False(d.EndOfCandidates);
        Assert.Equal(2, d.Candidates.Count);
        Assert.Equal("candidate:1467250027 1 udp 2122260223 3c2f1b9e-8f0e-4c7d-9d4b-2a6a1d0e9f11.local 54321 typ host generation 0 network-id 1", d.Candidates[0]);
    }

    [Fact]
    public void Parses_chrome_answer_with_lf_line_endings()
    {
        var d = DataChannelDescription.Parse(SdpSamples.ChromeAnswer);
        Assert.Equal(SdpSetup.Active, d.Setup);
        Assert.Equal("q9Zt", d.IceUfrag);
        Assert.Equal(DtlsRole.Server, SdpSetupExtensions.ResolveLocalRole(SdpSetup.ActPass, d.Setup));
    }

    [Fact]
    public void Parses_firefox_offer_with_session_level_fingerprint()
    {
        var d = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.FirefoxOffer));
        Assert.Equal(SdpSamples.Fp1, Assert.Single(d.Fingerprints).DigestHex);
        Assert.Equal("8a1b2c3d", d.IceUfrag);
        Assert.True(d.EndOfCandidates);
        Assert.Equal(1073741823, d.EffectiveMaxMessageSize);
        Assert.Equal(5012290815287936010UL, d.SessionId);
        Assert.Equal(["trickle"], d.IceOptions);
        Assert.Equal("candidate:1 1 TCP 2105524479 192.168.1.10 9 typ host tcptype active", d.Candidates[1]);
    }

    [Fact]
    public void Parses_pion_ice_lite_answer_and_defaults_max_message_size()
    {
        var d = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.PionLiteAnswer));
        Assert.True(d.IceLite);
        Assert.Equal(SdpSetup.Passive, d.Setup);
        Assert.Null(d.MaxMessageSize);
        Assert.Equal(65536, d.EffectiveMaxMessageSize);
        Assert.Equal(SdpSamples.Fp2, Assert.Single(d.Fingerprints).DigestHex);
        Assert.Equal(2, d.Candidates.Count);
        Assert.Equal(DtlsRole.Client, SdpSetupExtensions.ResolveLocalRole(SdpSetup.ActPass, d.Setup));
    }

    [Fact]
    public void Parses_libdatachannel_offer_with_comma_separated_ice_options()
    {
        var d = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.LibDataChannelOffer));
        Assert.Equal(["ice2", "trickle"], d.IceOptions);
        Assert.Equal("LGkN", d.IceUfrag);
        Assert.Equal("IjZgo+5Rpm8a9LoxfY7lWS", d.IcePwd);
        Assert.Equal(["0"], d.BundleGroup);
        Assert.Empty(d.Candidates);
    }

    [Fact]
    public void Parses_legacy_dtls_sctp_with_sctpmap_and_answers_in_the_same_form()
    {
        var offer = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.LegacyLibWebRtcOffer));
        Assert.True(offer.IsLegacySctp);
        Assert.Equal(5000, offer.SctpPort);
        Assert.Equal("data", offer.Mid);
        Assert.Equal(65536, offer.EffectiveMaxMessageSize);

        var answerText = offer.CreateAnswer(Local()).ToSdp();
        Assert.Contains("m=application 9 DTLS/SCTP 5000\r\n", answerText, StringComparison.Ordinal);
        Assert.Contains("a=sctpmap:5000 webrtc-datachannel 1024\r\n", answerText, StringComparison.Ordinal);
        Assert.DoesNotContain("a=sctp-port", answerText, StringComparison.Ordinal);
        var answer = DataChannelDescription.Parse(answerText);
        Assert.True(answer.IsLegacySctp);
        Assert.Equal("data", answer.Mid);
        Assert.Equal(["data"], answer.BundleGroup);
    }

    [Fact]
    public void Answer_to_an_audio_and_data_offer_rejects_the_audio_in_place()
    {
        var offer = DataChannelDescription.Parse(SdpSamples.Crlf(SdpSamples.ChromeAudioAndDataOffer));
        Assert.Equal(1, offer.DataChannelIndex);
        Assert.Equal("1", offer.Mid);
        Assert.Equal("audio", Assert.Single(offer.OtherMedia).Media);

        var answerText = offer.CreateAnswer(Local()).ToSdp();
        var session = SessionDescription.Parse(answerText);
        Assert.Equal(2, session.Media.Count);
        Assert.Equal("audio", session.Media[0].Media);
        Assert.Equal(0, session.Media[0].Port);
        Assert.Equal("0", session.Media[0].Attribute("mid")?.Value);
        Assert.Equal("application", session.Media[1].Media);
        var answer = DataChannelDescription.Parse(answerText);
        Assert.Equal("1", answer.Mid);
        Assert.Equal(["1"], answer.BundleGroup);
        Assert.Equal(SdpSetup.Active, answer.Setup);
    }

    [Fact]
    public void Generated_offer_round_trips_in_chromes_form()
    {
        var certificate = RtcCertificate.Default;
        var local = DataChannelLocalParameters.Create(certificate) with
        {
            Candidates = ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"],
            EndOfCandidates = true,
            IceLite = true,
        };
        var text = DataChannelDescription.CreateOffer(local).ToSdp();

        Assert.StartsWith("v=0\r\no=- ", text, StringComparison.Ordinal);
        Assert.Contains("\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\r\na=setup:actpass\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("a=end-of-candidates\r\n", text, StringComparison.Ordinal);

        var parsed = DataChannelDescription.Parse(text);
        Assert.Equal(local.IceUfrag, parsed.IceUfrag);
        Assert.Equal(local.IcePwd, parsed.IcePwd);
        Assert.Equal(local.SessionId, parsed.SessionId);
        Assert.Equal(certificate.Fingerprint, Assert.Single(parsed.Fingerprints));
        Assert.Equal(local.Candidates, parsed.Candidates);
        Assert.True(parsed.IceLite);
        Assert.True(parsed.EndOfCandidates);
        Assert.Equal(["trickle"], parsed.IceOptions);
        Assert.Equal(262144, parsed.MaxMessageSize);
    }

    [Theory]
    [InlineData(SdpSetup.Active, SdpSetup.Passive)]
    [InlineData(SdpSetup.Passive, SdpSetup.Passive)]
    public void Answer_setup_follows_preference_for_actpass_offers(SdpSetup preferred, SdpSetup expected)
    {
        var offer = DataChannelDescription.Parse(SdpSamples.ChromeOffer);
        var answer = DataChannelDescription.Parse(offer.CreateAnswer(Local(), preferred).ToSdp());
        Assert.Equal(preferred == SdpSetup.Active ? SdpSetup.Active : expected, answer.Setup);
        var ourRole = SdpSetupExtensions.ResolveLocalRole(answer.Setup, offer.Setup);
        Assert.Equal(preferred == SdpSetup.Active ? DtlsRole.Client : DtlsRole.Server, ourRole);
    }

    [Fact]
    public void Setup_resolution_covers_rfc_8842_combinations()
    {
        Assert.Equal(DtlsRole.Server, SdpSetupExtensions.ResolveLocalRole(SdpSetup.ActPass, SdpSetup.Active));
        Assert.Equal(DtlsRole.Client, SdpSetupExtensions.ResolveLocalRole(SdpSetup.ActPass, SdpSetup.Passive));
        Assert.Equal(DtlsRole.Client, SdpSetupExtensions.ResolveLocalRole(SdpSetup.Active, SdpSetup.ActPass));
        Assert.Equal(DtlsRole.Server, SdpSetupExtensions.ResolveLocalRole(SdpSetup.Passive, SdpSetup.ActPass));
        Assert.Equal(SdpSetup.Passive, SdpSetupExtensions.AnswerTo(SdpSetup.Active));
        Assert.Equal(SdpSetup.Active, SdpSetupExtensions.AnswerTo(SdpSetup.Passive));
        var e = Assert.Throws<SdpException>(() => SdpSetupExtensions.ResolveLocalRole(SdpSetup.ActPass, SdpSetup.ActPass));
        Assert.Contains("must be active or passive", e.Message, StringComparison.Ordinal);
        Assert.Throws<SdpException>(() => SdpSetupExtensions.ResolveLocalRole(SdpSetup.Active, SdpSetup.Active));
        Assert.Throws<SdpException>(() => SdpSetupExtensions.AnswerTo(SdpSetup.HoldConn));
    }

    [Fact]
    public void Missing_setup_means_active()
    {
        var sdp = SdpSamples.ChromeAnswer.Replace("a=setup:active\n", string.Empty, StringComparison.Ordinal);
        Assert.Equal(SdpSetup.Active, DataChannelDescription.Parse(sdp).Setup);
    }

    [Fact]
    public void Unsupported_fingerprint_is_ignored_when_a_supported_one_is_present()
    {
        var sdp = SdpSamples.ChromeOffer.Replace("a=setup:actpass", "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\na=setup:actpass", StringComparison.Ordinal);
        Assert.Equal("sha-256", Assert.Single(DataChannelDescription.Parse(sdp).Fingerprints).Algorithm);
    }

    internal static DataChannelLocalParameters Local() => DataChannelLocalParameters.Create(RtcCertificate.Default);
}
