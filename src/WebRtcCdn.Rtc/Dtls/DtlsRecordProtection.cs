using System.Buffers.Binary;
using System.Security.Cryptography;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>Outcome of decrypting one record.</summary>
internal enum DtlsOpenStatus
{
    Ok,
    WrongEpoch,
    Malformed,
    Replayed,
    AuthenticationFailed,
}

/// <summary>
/// The DTLS 1.2 AES-GCM record protection after the handshake (RFC 5288, RFC 6347 sec. 4.1.2), on .NET's
/// <see cref="AesGcm"/>: one key schedule per direction for the connection's lifetime (BouncyCastle's record path
/// re-keys and allocates per record), epoch 1, 8-byte explicit nonce = epoch||sequence_number,
/// AAD = epoch||seq || type || version || plaintext length (RFC 5246 sec. 6.2.3.3 with the DTLS sequence number).
/// Not thread-safe: one writer per connection.
/// </summary>
internal sealed class DtlsRecordProtection : IDisposable
{
    public const int ExplicitNonceLength = 8;
    public const int TagLength = 16;

    /// <summary>Bytes a record adds to its plaintext: header, explicit nonce, tag.</summary>
    public const int Overhead = DtlsRecord.HeaderLength + ExplicitNonceLength + TagLength;

    /// <summary>The epoch after the one and only handshake (we do not renegotiate).</summary>
    public const ushort Epoch = 1;

    private const int AadLength = 13;
    private const int NonceLength = DtlsKeyMaterial.FixedIvLength + ExplicitNonceLength;

    private readonly AesGcm _writer;
    private readonly AesGcm _reader;
    private readonly byte[] _writeSalt;
    private readonly byte[] _readSalt;
    private ulong _nextWriteSequence;
    private DtlsReplayWindow _replay;

    /// <param name="keys">The negotiated key block.</param>
    /// <param name="isServer">Our role: the server writes with the server keys.</param>
    /// <param name="firstWriteSequence">The first epoch-1 sequence number not yet used by the handshake (its Finished).</param>
    public DtlsRecordProtection(DtlsKeyMaterial keys, bool isServer, ulong firstWriteSequence)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _writer = new AesGcm(isServer ? keys.ServerWriteKey : keys.ClientWriteKey, TagLength);
        _reader = new AesGcm(isServer ? keys.ClientWriteKey : keys.ServerWriteKey, TagLength);
        _writeSalt = isServer ? keys.ServerWriteIv : keys.ClientWriteIv;
        _readSalt = isServer ? keys.ClientWriteIv : keys.ServerWriteIv;
        _nextWriteSequence = firstWriteSequence;
    }

    /// <summary>The next sequence number this side will write.</summary>
    public ulong NextWriteSequence => _nextWriteSequence;

    /// <summary>Encrypts <paramref name="plaintext"/> as one record straight into <paramref name="destination"/>;
    /// returns the record length (<see cref="Overhead"/> + plaintext length).</summary>
    public int Seal(byte contentType, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var recordLength = Overhead + plaintext.Length;
        if (plaintext.Length > 16384)
        {
            throw new ArgumentException("a DTLS record carries at most 16384 bytes of plaintext", nameof(plaintext));
        }

        if (destination.Length < recordLength)
        {
            throw new ArgumentException("destination too small for the record", nameof(destination));
        }

        if (_nextWriteSequence > DtlsRecord.MaxSequenceNumber)
        {
            // RFC 6347 sec. 4.1: the sequence number MUST NOT wrap; without renegotiation the connection ends here.
            throw new InvalidOperationException("DTLS write sequence number exhausted");
        }

        var sequence = _nextWriteSequence++;
        DtlsRecord.WriteHeader(destination, contentType, Epoch, sequence, ExplicitNonceLength + plaintext.Length + TagLength);
        var explicitNonce = destination.Slice(DtlsRecord.HeaderLength, ExplicitNonceLength);
        DtlsRecord.WriteEpochAndSequence(explicitNonce, Epoch, sequence);

        Span<byte> nonce = stackalloc byte[NonceLength];
        _writeSalt.CopyTo(nonce);
        explicitNonce.CopyTo(nonce[DtlsKeyMaterial.FixedIvLength..]);

        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(aad, Epoch, sequence, contentType, DtlsRecord.Dtls12, plaintext.Length);

        var body = destination[(DtlsRecord.HeaderLength + ExplicitNonceLength)..];
        _writer.Encrypt(nonce, plaintext, body[..plaintext.Length], body.Slice(plaintext.Length, TagLength), aad);
        return recordLength;
    }

    /// <summary>Authenticates and decrypts one record's fragment into <paramref name="plaintext"/> (at least
    /// fragment length - 24 bytes). Replays and forgeries are reported, never thrown.</summary>
    public DtlsOpenStatus Open(in DtlsRecordHeader header, ReadOnlySpan<byte> fragment, Span<byte> plaintext, out int plaintextLength)
    {
        plaintextLength = 0;
        if (header.Epoch != Epoch)
        {
            return DtlsOpenStatus.WrongEpoch;
        }

        if (fragment.Length < ExplicitNonceLength + TagLength)
        {
            return DtlsOpenStatus.Malformed;
        }

        if (!_replay.IsAcceptable(header.SequenceNumber))
        {
            return DtlsOpenStatus.Replayed;
        }

        var length = fragment.Length - ExplicitNonceLength - TagLength;
        if (plaintext.Length < length)
        {
            return DtlsOpenStatus.Malformed;
        }

        Span<byte> nonce = stackalloc byte[NonceLength];
        _readSalt.CopyTo(nonce);
        fragment[..ExplicitNonceLength].CopyTo(nonce[DtlsKeyMaterial.FixedIvLength..]);

        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(aad, header.Epoch, header.SequenceNumber, header.ContentType, header.Version, length);

        try
        {
            _reader.Decrypt(nonce, fragment.Slice(ExplicitNonceLength, length), fragment.Slice(ExplicitNonceLength + length, TagLength), plaintext[..length], aad);
        }
        catch (CryptographicException)
        {
            // A forged tag (AuthenticationTagMismatchException), and also OpenSSL's bare "cipher operation failed" that
            // some mutated records provoke (found by DtlsFuzzTests): either way the record is not authentic; drop it.
            return DtlsOpenStatus.AuthenticationFailed;
        }

        _replay.Mark(header.SequenceNumber);
        plaintextLength = length;
        return DtlsOpenStatus.Ok;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _reader.Dispose();
    }

    private static void WriteAad(Span<byte> aad, ushort epoch, ulong sequence, byte contentType, ushort version, int plaintextLength)
    {
        DtlsRecord.WriteEpochAndSequence(aad, epoch, sequence);
        aad[8] = contentType;
        BinaryPrimitives.WriteUInt16BigEndian(aad[9..], version);
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintextLength);
    }
}
