namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// The AEAD part of the TLS 1.2 key block (RFC 5246 sec. 6.3; AEAD suites have no MAC keys, RFC 5288 sec. 3):
/// client_write_key, server_write_key, then the 4-byte implicit nonce parts client_write_IV, server_write_IV.
/// </summary>
internal sealed class DtlsKeyMaterial
{
    /// <summary>GCM's implicit nonce ("salt") length, RFC 5288 sec. 3.</summary>
    public const int FixedIvLength = 4;

    public DtlsKeyMaterial(ReadOnlySpan<byte> keyBlock, int keyLength)
    {
        if (keyBlock.Length != (2 * keyLength) + (2 * FixedIvLength))
        {
            throw new ArgumentException("key block length does not match the key length", nameof(keyBlock));
        }

        ClientWriteKey = keyBlock[..keyLength].ToArray();
        ServerWriteKey = keyBlock.Slice(keyLength, keyLength).ToArray();
        ClientWriteIv = keyBlock.Slice(2 * keyLength, FixedIvLength).ToArray();
        ServerWriteIv = keyBlock.Slice((2 * keyLength) + FixedIvLength, FixedIvLength).ToArray();
    }

    public byte[] ClientWriteKey { get; }

    public byte[] ServerWriteKey { get; }

    public byte[] ClientWriteIv { get; }

    public byte[] ServerWriteIv { get; }

    /// <summary>Key block length for a GCM suite with the given key length.</summary>
    public static int KeyBlockLength(int keyLength) => (2 * keyLength) + (2 * FixedIvLength);
}
