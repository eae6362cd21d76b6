using System.Globalization;
using System.Text;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Sdp;

/// <summary>A media section of the remote description that is not our data channel; an answer rejects it (port 0).</summary>
public sealed record OtherMedia(string Media, string Protocol, IReadOnlyList<string> Formats, string? Mid);

/// <summary>
/// What a data-channel-only WebRTC peer needs from an SDP offer or answer (RFC 8841 SCTP over DTLS, RFC 8839 ICE,
/// RFC 8842 DTLS): ICE credentials, DTLS fingerprint and setup role, candidates, SCTP port and max message size.
/// <see cref="Parse"/> reads what Chrome, Firefox, pion, libwebrtc and libdatachannel produce and rejects, naming the
/// line, what we cannot use; <see cref="ToSdp"/> writes Chrome's form.
/// </summary>
public sealed record DataChannelDescription
{
    /// <summary>RFC 8841 sec. 5 has no default, but every stack uses 5000 and JSEP (RFC 8829 sec. 5.2.1) mandates it.</summary>
    public const int DefaultSctpPort = 5000;

    /// <summary>RFC 8841 sec. 6.1: a peer that omits a=max-message-size accepts 64 KiB (interop notes item 2).</summary>
    public const long DefaultRemoteMaxMessageSize = 65536;

    /// <summary>What we advertise: Chrome's value (interop notes item 1). Never 2^31 or more: Chrome rejects that.</summary>
    public const long AdvertisedMaxMessageSize = 262144;

    /// <summary>The protocol and format of a modern data channel m-line (RFC 8841 sec. 4.1).</summary>
    public const string Protocol = "UDP/DTLS/SCTP";

    public const string Format = "webrtc-datachannel";

    /// <summary>The pre-RFC form (draft-ietf-mmusic-sctp-sdp-05): <c>m=application 9 DTLS/SCTP 5000</c> + a=sctpmap.</summary>
    public const string LegacyProtocol = "DTLS/SCTP";

    public ulong SessionId { get; init; }

    public ulong SessionVersion { get; init; } = 2;

    public required string IceUfrag { get; init; }

    public required string IcePwd { get; init; }

    /// <summary>a=ice-lite: the peer only answers checks (RFC 8445 sec. 2.5).</summary>
    public bool IceLite { get; init; }

    /// <summary>a=ice-options tokens, e.g. "trickle" (RFC 8840).</summary>
    public IReadOnlyList<string> IceOptions { get; init; } = [];

    /// <summary>The DTLS certificate fingerprints with a supported hash (at least one).</summary>
    public required IReadOnlyList<CertificateFingerprint> Fingerprints { get; init; }

    public SdpSetup Setup { get; init; } = SdpSetup.ActPass;

    /// <summary>a=mid of the data channel section, or null when absent (legacy peers).</summary>
    public string? Mid { get; init; } = "0";

    /// <summary>The mids of a=group:BUNDLE, empty when there is none.</summary>
    public IReadOnlyList<string> BundleGroup { get; init; } = [];

    public int SctpPort { get; init; } = DefaultSctpPort;

    /// <summary>a=max-message-size as received or to send; null when absent.</summary>
    public long? MaxMessageSize { get; init; } = AdvertisedMaxMessageSize;

    /// <summary>The largest message we may send to this peer: 64 KiB when it said nothing, unlimited for 0 (RFC 8841 sec. 6.1).</summary>
    public long EffectiveMaxMessageSize => MaxMessageSize switch
    {
        null => DefaultRemoteMaxMessageSize,
        0 => long.MaxValue,
        var size => size.Value,
    };

    /// <summary>Candidate attributes exactly as received, each starting with <c>candidate:</c> (the W3C RTCIceCandidate.candidate form).</summary>
    public IReadOnlyList<string> Candidates { get; init; } = [];

    /// <summary>a=end-of-candidates: no more trickled candidates will follow (RFC 8840 sec. 8.2).</summary>
    public bool EndOfCandidates { get; init; }

    /// <summary>True for the legacy <c>DTLS/SCTP &lt;port&gt;</c> + a=sctpmap form; answers keep the form of the offer.</summary>
    public bool IsLegacySctp { get; init; }

    /// <summary>The other media sections, in order, with the data channel's position in <see cref="DataChannelIndex"/>.</summary>
    public IReadOnlyList<OtherMedia> OtherMedia { get; init; } = [];

    /// <summary>Position of the data channel section among all m-lines.</summary>
    public int DataChannelIndex { get; init; }

    /// <summary>Parses an offer or answer and extracts the data channel parameters.</summary>
    /// <exception cref="SdpException">Malformed, or nothing a data channel can use; names the line and the reason.</exception>
    public static DataChannelDescription Parse(string sdp)
    {
        var session = SessionDescription.Parse(sdp);
        var index = FindDataChannel(session);
        var media = session.Media[index];
        var legacy = media.Protocol == LegacyProtocol;

        string Required(string name, Func<string, bool> valid, string rule)
        {
            var attribute = media.Attribute(name) ?? session.Attribute(name)
                ?? throw new SdpException(media.LineNumber, media.MediaLine, $"no a={name} in the data channel section or at session level");
            var value = attribute.Value?.Trim() ?? string.Empty;
            return valid(value) ? value : throw new SdpException(attribute.LineNumber, attribute.ToString(), rule);
        }

        var ufrag = Required("ice-ufrag", v => IsIceChars(v, 4), "ice-ufrag must be 4-256 characters of ALPHA / DIGIT / '+' / '/' (RFC 8839 sec. 5.4)");
        var pwd = Required("ice-pwd", v => IsIceChars(v, 22), "ice-pwd must be 22-256 characters of ALPHA / DIGIT / '+' / '/' (RFC 8839 sec. 5.4)");

        var setup = SdpSetup.Active; // RFC 4145 sec. 4: absent means active
        if ((media.Attribute("setup") ?? session.Attribute("setup")) is { } setupAttribute)
        {
            if (!SdpSetupExtensions.TryParse(setupAttribute.Value, out setup))
            {
                throw new SdpException(setupAttribute.LineNumber, setupAttribute.ToString(), $"bad setup value '{setupAttribute.Value}' (expected actpass, active, passive or holdconn)");
            }
        }

        var (sctpPort, maxMessageSize) = legacy ? ParseSctpMap(media) : ParseSctpAttributes(media);

        var origin = session.Origin.Split(' ');
        _ = ulong.TryParse(origin[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sessionId);
        _ = ulong.TryParse(origin[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sessionVersion);

        return new DataChannelDescription
        {
            SessionId = sessionId,
            SessionVersion = sessionVersion,
            IceUfrag = ufrag,
            IcePwd = pwd,
            IceLite = session.Attribute("ice-lite") is not null || media.Attribute("ice-lite") is not null,
            IceOptions = ((media.Attribute("ice-options") ?? session.Attribute("ice-options"))?.Value ?? string.Empty)
                .Split([' ', ','], StringSplitOptions.RemoveEmptyEntries), // libdatachannel writes "ice2,trickle"
            Fingerprints = ParseFingerprints(session, media),
            Setup = setup,
            Mid = media.Attribute("mid")?.Value?.Trim(),
            BundleGroup = session.Attributes
                .Where(a => a.Name == "group" && a.Value is not null && a.Value.StartsWith("BUNDLE", StringComparison.Ordinal))
                .SelectMany(a => a.Value!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
                .ToList(),
            SctpPort = sctpPort,
            MaxMessageSize = maxMessageSize,
            Candidates = media.Attributes.Where(a => a.Name == "candidate").Select(a => "candidate:" + a.Value).ToList(),
            EndOfCandidates = media.Attribute("end-of-candidates") is not null || session.Attribute("end-of-candidates") is not null,
            IsLegacySctp = legacy,
            OtherMedia = session.Media.Where((_, i) => i != index)
                .Select(m => new OtherMedia(m.Media, m.Protocol, m.Formats, m.Attribute("mid")?.Value)).ToList(),
            DataChannelIndex = index,
        };
    }

    /// <summary>An offer with our parameters (Chrome's form: setup actpass, BUNDLE on mid 0, trickle).</summary>
    public static DataChannelDescription CreateOffer(DataChannelLocalParameters local)
    {
        ArgumentNullException.ThrowIfNull(local);
        return new DataChannelDescription
        {
            SessionId = local.SessionId,
            IceUfrag = local.IceUfrag,
            IcePwd = local.IcePwd,
            IceLite = local.IceLite,
            IceOptions = local.Trickle ? ["trickle"] : [],
            Fingerprints = [local.Fingerprint],
            Setup = SdpSetup.ActPass,
            Mid = "0",
            BundleGroup = ["0"],
            Candidates = local.Candidates,
            EndOfCandidates = local.EndOfCandidates,
        };
    }

    /// <summary>Our answer to this offer: same mid, BUNDLE group and SCTP form, other media rejected in order,
    /// setup chosen by <see cref="SdpSetupExtensions.AnswerTo"/>.</summary>
    public DataChannelDescription CreateAnswer(DataChannelLocalParameters local, SdpSetup preferredSetup = SdpSetup.Active)
    {
        ArgumentNullException.ThrowIfNull(local);
        return new DataChannelDescription
        {
            SessionId = local.SessionId,
            IceUfrag = local.IceUfrag,
            IcePwd = local.IcePwd,
            IceLite = local.IceLite,
            IceOptions = local.Trickle ? ["trickle"] : [],
            Fingerprints = [local.Fingerprint],
            Setup = SdpSetupExtensions.AnswerTo(Setup, preferredSetup),
            Mid = Mid,
            BundleGroup = Mid is not null && BundleGroup.Contains(Mid) ? [Mid] : [],
            SctpPort = IsLegacySctp ? SctpPort : DefaultSctpPort,
            Candidates = local.Candidates,
            EndOfCandidates = local.EndOfCandidates,
            IsLegacySctp = IsLegacySctp,
            OtherMedia = OtherMedia,
            DataChannelIndex = DataChannelIndex,
        };
    }

    /// <summary>Writes the description (CRLF line endings, RFC 8866 sec. 5).</summary>
    public string ToSdp()
    {
        var sb = new StringBuilder(1024);
        void Line(string text) => sb.Append(text).Append("\r\n");

        Line("v=0");
        Line(string.Create(CultureInfo.InvariantCulture, $"o=- {SessionId} {SessionVersion} IN IP4 127.0.0.1"));
        Line("s=-");
        Line("t=0 0");
        if (BundleGroup.Count > 0)
        {
            Line("a=group:BUNDLE " + string.Join(' ', BundleGroup));
        }

        if (IceLite)
        {
            Line("a=ice-lite");
        }

        for (var i = 0; i <= OtherMedia.Count; i++)
        {
            if (i == DataChannelIndex)
            {
                WriteDataChannelSection(Line);
            }

            var other = i < DataChannelIndex ? i : i - 1;
            if (i != DataChannelIndex && other < OtherMedia.Count)
            {
                var rejected = OtherMedia[other];
                Line($"m={rejected.Media} 0 {rejected.Protocol} {string.Join(' ', rejected.Formats)}");
                Line("c=IN IP4 0.0.0.0");
                if (rejected.Mid is not null)
                {
                    Line("a=mid:" + rejected.Mid);
                }
            }
        }

        return sb.ToString();
    }

    private void WriteDataChannelSection(Action<string> line)
    {
        line(IsLegacySctp
            ? string.Create(CultureInfo.InvariantCulture, $"m=application 9 {LegacyProtocol} {SctpPort}")
            : $"m=application 9 {Protocol} {Format}");
        line("c=IN IP4 0.0.0.0");
        foreach (var candidate in Candidates)
        {
            line("a=" + candidate);
        }

        line("a=ice-ufrag:" + IceUfrag);
        line("a=ice-pwd:" + IcePwd);
        if (IceOptions.Count > 0)
        {
            line("a=ice-options:" + string.Join(' ', IceOptions));
        }

        foreach (var fingerprint in Fingerprints)
        {
            line("a=fingerprint:" + fingerprint);
        }

        line("a=setup:" + Setup.ToSdpValue());
        if (Mid is not null)
        {
            line("a=mid:" + Mid);
        }

        if (IsLegacySctp)
        {
            // draft-ietf-mmusic-sctp-sdp-05: <port> <protocol> <streams>; 1024 streams is what Chrome wrote.
            line(string.Create(CultureInfo.InvariantCulture, $"a=sctpmap:{SctpPort} {Format} 1024"));
        }
        else
        {
            line(string.Create(CultureInfo.InvariantCulture, $"a=sctp-port:{SctpPort}"));
        }

        if (MaxMessageSize is { } size)
        {
            line(string.Create(CultureInfo.InvariantCulture, $"a=max-message-size:{size}"));
        }

        if (EndOfCandidates)
        {
            line("a=end-of-candidates");
        }
    }

    private static int FindDataChannel(SessionDescription session)
    {
        SdpMedia? unusable = null;
        string? why = null;
        for (var i = 0; i < session.Media.Count; i++)
        {
            var media = session.Media[i];
            if (media.Media != "application")
            {
                continue;
            }

            var modern = (media.Protocol == Protocol && media.Formats.Contains(Format))
                || (media.Protocol == LegacyProtocol && media.Formats.Count >= 1);
            if (!modern)
            {
                unusable ??= media;
                why ??= $"protocol '{media.Protocol} {string.Join(' ', media.Formats)}' is not a data channel (expected '{Protocol} {Format}' or legacy '{LegacyProtocol} <port>')";
                continue;
            }

            if (media.Port == 0)
            {
                unusable ??= media;
                why ??= "the data channel section is rejected (port 0)";
                continue;
            }

            return i;
        }

        if (unusable is not null)
        {
            throw new SdpException(unusable.LineNumber, unusable.MediaLine, why!);
        }

        throw new SdpException(0, null, "no m=application section: the description offers no data channel");
    }

    private static (int Port, long? MaxMessageSize) ParseSctpAttributes(SdpMedia media)
    {
        var port = DefaultSctpPort;
        if (media.Attribute("sctp-port") is { } portAttribute)
        {
            if (!int.TryParse(portAttribute.Value, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new SdpException(portAttribute.LineNumber, portAttribute.ToString(), "sctp-port must be a number from 1 to 65535 (RFC 8841 sec. 5.2)");
            }
        }

        long? maxMessageSize = null;
        if (media.Attribute("max-message-size") is { } sizeAttribute)
        {
            if (!long.TryParse(sizeAttribute.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                throw new SdpException(sizeAttribute.LineNumber, sizeAttribute.ToString(), "max-message-size must be a non-negative integer (RFC 8841 sec. 6)");
            }

            maxMessageSize = size;
        }

        return (port, maxMessageSize);
    }

    private static (int Port, long? MaxMessageSize) ParseSctpMap(SdpMedia media)
    {
        var format = media.Formats[0];
        if (!int.TryParse(format, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new SdpException(media.LineNumber, media.MediaLine, $"legacy {LegacyProtocol} needs the SCTP port as format, got '{format}'");
        }

        var map = media.Attributes.Find(a => a.Name == "sctpmap" && a.Value is not null && a.Value.Split(' ')[0] == format)
            ?? throw new SdpException(media.LineNumber, media.MediaLine, $"legacy {LegacyProtocol} {format} without a matching a=sctpmap:{format} webrtc-datachannel line");
        var fields = map.Value!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2 || fields[1] != Format)
        {
            throw new SdpException(map.LineNumber, map.ToString(), $"sctpmap protocol must be '{Format}'");
        }

        // The legacy form carried no max-message-size; RFC 8841's default applies unless the peer sent the attribute anyway.
        long? maxMessageSize = null;
        if (media.Attribute("max-message-size") is { Value: { } value } && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            maxMessageSize = size;
        }

        return (port, maxMessageSize);
    }

    private static List<CertificateFingerprint> ParseFingerprints(SessionDescription session, SdpMedia media)
    {
        var attributes = media.Attributes.Where(a => a.Name == "fingerprint").ToList();
        if (attributes.Count == 0)
        {
            attributes = session.Attributes.Where(a => a.Name == "fingerprint").ToList();
        }

        if (attributes.Count == 0)
        {
            throw new SdpException(media.LineNumber, media.MediaLine, "no a=fingerprint in the data channel section or at session level: the DTLS peer could not be authenticated");
        }

        var result = new List<CertificateFingerprint>();
        SdpException? firstError = null;
        foreach (var attribute in attributes)
        {
            if (CertificateFingerprint.TryParse(attribute.Value ?? string.Empty, out var fingerprint, out var error))
            {
                result.Add(fingerprint!);
            }
            else
            {
                firstError ??= new SdpException(attribute.LineNumber, attribute.ToString(), error!);
            }
        }

        // Several fingerprints (RFC 8122 sec. 5) may mix hashes; one we can check is enough.
        return result.Count > 0 ? result : throw firstError!;
    }

    private static bool IsIceChars(string value, int minLength) =>
        value.Length >= minLength && value.Length <= 256 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/');
}
