using Org.BouncyCastle.Tls;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>The suites we negotiate: ECDHE-ECDSA with AES-GCM only, AES-128 first (interop notes item 6; what
/// Chrome, Firefox and pion all offer). Our own record layer implements exactly these.</summary>
internal static class DtlsCipherSuites
{
    public static readonly int[] Supported =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ];

    public static string Name(int suite) => suite switch
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        _ => $"0x{suite:X4}",
    };

    /// <summary>AES key length in bytes for a BouncyCastle encryption algorithm id, or 0 when our record layer cannot do it.</summary>
    public static int KeyLength(int encryptionAlgorithm) => encryptionAlgorithm switch
    {
        EncryptionAlgorithm.AES_128_GCM => 16,
        EncryptionAlgorithm.AES_256_GCM => 32,
        _ => 0,
    };
}
