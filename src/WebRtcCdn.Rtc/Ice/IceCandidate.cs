using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>
/// One ICE candidate in its SDP attribute form (RFC 8839 sec. 5.1):
/// <c>candidate:&lt;foundation&gt; &lt;component&gt; &lt;transport&gt; &lt;priority&gt; &lt;address&gt; &lt;port&gt; typ &lt;type&gt; [raddr &lt;a&gt; rport &lt;p&gt;] *(name value)</c>.
/// SDP (a=candidate) and trickle (candidate strings) share this form. The address may be an mDNS
/// <c>.local</c> name (Chrome hides host addresses that way) or an IP literal.
/// </summary>
public sealed record IceCandidate
{
    /// <summary>Type preferences (RFC 8445 sec. 5.1.2.2 recommended values).</summary>
    public const int HostTypePreference = 126;
    public const int PeerReflexiveTypePreference = 110;
    public const int ServerReflexiveTypePreference = 100;
    public const int RelayedTypePreference = 0;

    /// <summary>RFC 8839: foundation is 1..32 ice-chars; longer or odd ones are refused.</summary>
    private const int MaxFoundationLength = 32;

    /// <summary>An SDP line longer than this is not a candidate anyone produces; refuse it before splitting.</summary>
    private const int MaxLineLength = 1024;

    /// <summary>Extension attributes (generation, ufrag, network-id, ...) we keep to echo; bounded like the line.</summary>
    private const int MaxExtensions = 16;

    public required string Foundation { get; init; }

    public int Component { get; init; } = 1;

    public string Transport { get; init; } = "udp";

    public required uint Priority { get; init; }

    /// <summary>An IP literal or an mDNS name ending in ".local".</summary>
    public required string Address { get; init; }

    public required int Port { get; init; }

    public required IceCandidateType Type { get; init; }

    public string? RelatedAddress { get; init; }

    public int? RelatedPort { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Extensions { get; init; } = [];

    /// <summary>True for an mDNS host name (RFC 8828 / draft-ietf-mmusic-mdns-ice-candidates).</summary>
    public bool IsMdns => Address.EndsWith(".local", StringComparison.OrdinalIgnoreCase);

    /// <summary>The endpoint when the address is an IP literal; null for mDNS names.</summary>
    public IPEndPoint? EndPoint => IPAddress.TryParse(Address, out var ip) ? new IPEndPoint(ip, Port) : null;

    /// <summary>RFC 8445 sec. 5.1.2.1: (2^24)*type pref + (2^8)*local pref + (256 - component).</summary>
    public static uint ComputePriority(IceCandidateType type, int localPreference, int component = 1) =>
        (uint)((TypePreference(type) << 24) + (localPreference << 8) + (256 - component));

    public static int TypePreference(IceCandidateType type) => type switch
    {
        IceCandidateType.Host => HostTypePreference,
        IceCandidateType.PeerReflexive => PeerReflexiveTypePreference,
        IceCandidateType.ServerReflexive => ServerReflexiveTypePreference,
        _ => RelayedTypePreference,
    };

    /// <summary>Parses "candidate:..." (also accepts the "a=" prefix). On failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out IceCandidate? candidate, [NotNullWhen(false)] out string? error)
    {
        candidate = null;
        if (text.Length > MaxLineLength)
        {
            error = "candidate line too long";
            return false;
        }

        var line = text.Trim();
        if (line.StartsWith("a=", StringComparison.Ordinal))
        {
            line = line[2..];
        }

        if (!line.StartsWith("candidate:", StringComparison.Ordinal))
        {
            error = "does not start with 'candidate:'";
            return false;
        }

        var parts = line["candidate:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 8)
        {
            error = "fewer than 8 fields";
            return false;
        }

        if (parts[0].Length is 0 or > MaxFoundationLength || !parts[0].All(IsIceChar))
        {
            error = "bad foundation";
            return false;
        }

        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var component) || component is < 1 or > 256)
        {
            error = "bad component id";
            return false;
        }

        if (!uint.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var priority) || priority == 0)
        {
            error = "bad priority";
            return false;
        }

        var address = parts[4];
        if (address.Length is 0 or > 255 || (!IPAddress.TryParse(address, out _) && !IsHostName(address)))
        {
            error = "bad connection address";
            return false;
        }

        if (!int.TryParse(parts[5], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = "bad port";
            return false;
        }

        if (parts[6] != "typ")
        {
            error = "missing 'typ'";
            return false;
        }

        IceCandidateType type;
        switch (parts[7])
        {
            case "host": type = IceCandidateType.Host; break;
            case "srflx": type = IceCandidateType.ServerReflexive; break;
            case "prflx": type = IceCandidateType.PeerReflexive; break;
            case "relay": type = IceCandidateType.Relayed; break;
            default:
                error = $"unknown candidate type '{parts[7]}'";
                return false;
        }

        string? raddr = null;
        int? rport = null;
        var extensions = new List<KeyValuePair<string, string>>();
        for (var i = 8; i < parts.Length; i += 2)
        {
            if (i + 1 >= parts.Length)
            {
                error = $"attribute '{parts[i]}' has no value";
                return false;
            }

            switch (parts[i])
            {
                case "raddr":
                    raddr = parts[i + 1];
                    break;
                case "rport":
                    if (!int.TryParse(parts[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var rp) || rp > 65535)
                    {
                        error = "bad rport";
                        return false;
                    }

                    rport = rp;
                    break;
                default:
                    if (extensions.Count >= MaxExtensions)
                    {
                        error = "too many extension attributes";
                        return false;
                    }

                    extensions.Add(new(parts[i], parts[i + 1]));
                    break;
            }
        }

        candidate = new IceCandidate
        {
            Foundation = parts[0],
            Component = component,
            Transport = parts[2].ToLowerInvariant(),
            Priority = priority,
            Address = address,
            Port = port,
            Type = type,
            RelatedAddress = raddr,
            RelatedPort = rport,
            Extensions = extensions,
        };
        error = null;
        return true;
    }

    /// <summary>The attribute value without "a=", e.g. "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"candidate:{Foundation} {Component} {Transport} {Priority} {Address} {Port} typ {TypeName(Type)}");
        if (RelatedAddress is not null && RelatedPort is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" raddr {RelatedAddress} rport {RelatedPort}");
        }

        foreach (var (k, v) in Extensions)
        {
            sb.Append(' ').Append(k).Append(' ').Append(v);
        }

        return sb.ToString();
    }

    public static string TypeName(IceCandidateType type) => type switch
    {
        IceCandidateType.Host => "host",
        IceCandidateType.ServerReflexive => "srflx",
        IceCandidateType.PeerReflexive => "prflx",
        _ => "relay",
    };

    private static bool IsIceChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/';

    private static bool IsHostName(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}
