using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Sdp;

/// <summary>The <c>a=setup</c> value (RFC 4145 sec. 4, RFC 8842 sec. 5): who opens the DTLS association.</summary>
public enum SdpSetup
{
    /// <summary>Offerer: either role, the answerer decides.</summary>
    ActPass,

    /// <summary>We open the association: DTLS client.</summary>
    Active,

    /// <summary>We wait for it: DTLS server.</summary>
    Passive,

    /// <summary>Not now (RFC 4145); not usable for a data channel.</summary>
    HoldConn,
}

/// <summary>Text form of <see cref="SdpSetup"/> and DTLS role negotiation (RFC 8842 sec. 5).</summary>
public static class SdpSetupExtensions
{
    public static string ToSdpValue(this SdpSetup setup) => setup switch
    {
        SdpSetup.ActPass => "actpass",
        SdpSetup.Active => "active",
        SdpSetup.Passive => "passive",
        _ => "holdconn",
    };

    public static bool TryParse(string? value, out SdpSetup setup)
    {
        // Attribute values are case-sensitive in RFC 4145, but accepting "ACTPASS" harms nothing.
        switch (value?.Trim().ToLowerInvariant())
        {
            case "actpass": setup = SdpSetup.ActPass; return true;
            case "active": setup = SdpSetup.Active; return true;
            case "passive": setup = SdpSetup.Passive; return true;
            case "holdconn": setup = SdpSetup.HoldConn; return true;
            default: setup = default; return false;
        }
    }

    /// <summary>The setup an answerer puts in its answer: RFC 8842 sec. 5.3 (and JSEP) has the answerer to an
    /// actpass offer choose active unless it has a reason not to; <paramref name="preferred"/> is that reason
    /// (e.g. a server that wants to stay DTLS server).</summary>
    public static SdpSetup AnswerTo(SdpSetup offered, SdpSetup preferred = SdpSetup.Active) => offered switch
    {
        SdpSetup.ActPass => preferred == SdpSetup.Passive ? SdpSetup.Passive : SdpSetup.Active,
        SdpSetup.Active => SdpSetup.Passive,
        SdpSetup.Passive => SdpSetup.Active,
        _ => throw new SdpException(0, null, "the offer's a=setup is holdconn: it does not want a DTLS association now"),
    };

    /// <summary>Our DTLS role from our and the peer's a=setup values once offer and answer are both known.</summary>
    /// <exception cref="SdpException">The pair does not decide a role (e.g. actpass answered with actpass).</exception>
    public static DtlsRole ResolveLocalRole(SdpSetup local, SdpSetup remote) => (local, remote) switch
    {
        (SdpSetup.Active, SdpSetup.Passive or SdpSetup.ActPass) => DtlsRole.Client,
        (SdpSetup.Passive, SdpSetup.Active or SdpSetup.ActPass) => DtlsRole.Server,
        (SdpSetup.ActPass, SdpSetup.Active) => DtlsRole.Server,
        (SdpSetup.ActPass, SdpSetup.Passive) => DtlsRole.Client,
        _ => throw new SdpException(0, null, $"a=setup:{local.ToSdpValue()} (ours) and a=setup:{remote.ToSdpValue()} (theirs) do not decide who is DTLS client: the answer must be active or passive"),
    };
}
