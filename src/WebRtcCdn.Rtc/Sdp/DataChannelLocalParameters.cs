using System.Security.Cryptography;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Sdp;

/// <summary>Our side's values for an offer or answer.</summary>
public sealed record DataChannelLocalParameters
{
    private const string IceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    public required string IceUfrag { get; init; }

    public required string IcePwd { get; init; }

    public required CertificateFingerprint Fingerprint { get; init; }

    /// <summary>Random, as RFC 8866 sec. 5.2 suggests (an NTP-like value); below 2^62 like Chrome so every parser reads it.</summary>
    public ulong SessionId { get; init; } = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) >> 2;

    public bool IceLite { get; init; }

    /// <summary>Advertise a=ice-options:trickle (RFC 8840).</summary>
    public bool Trickle { get; init; } = true;

    /// <summary>Candidate attribute values, each starting with <c>candidate:</c>.</summary>
    public IReadOnlyList<string> Candidates { get; init; } = [];

    public bool EndOfCandidates { get; init; }

    /// <summary>New random ICE credentials: 8-character ufrag (48 bits, RFC 8839 asks for at least 24) and
    /// 24-character pwd (144 bits, at least 128 required).</summary>
    public static (string Ufrag, string Pwd) GenerateIceCredentials() =>
        (RandomNumberGenerator.GetString(IceAlphabet, 8), RandomNumberGenerator.GetString(IceAlphabet, 24));

    /// <summary>Parameters with fresh ICE credentials and the fingerprint of <paramref name="certificate"/>.</summary>
    public static DataChannelLocalParameters Create(RtcCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var (ufrag, pwd) = GenerateIceCredentials();
        return new DataChannelLocalParameters { IceUfrag = ufrag, IcePwd = pwd, Fingerprint = certificate.Fingerprint };
    }
}
