using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

public class DtlsRecordProtectionTests
{
    private static DtlsKeyMaterial Keys()
    {
        var block = new byte[DtlsKeyMaterial.KeyBlockLength(16)];
        for (var i = 0; i < block.Length; i++)
        {
            block[i] = (byte)(i * 7);
        }

        return new DtlsKeyMaterial(block, 16);
    }

    private static (DtlsRecordProtection Client, DtlsRecordProtection Server) Pair(ulong firstSequence = 1)
    {
        var keys = Keys();
        return (new DtlsRecordProtection(keys, isServer: false, firstSequence), new DtlsRecordProtection(keys, isServer: true, firstSequence));
    }

    private static DtlsOpenStatus Open(DtlsRecordProtection receiver, ReadOnlySpan<byte> record, out byte[] plaintext)
    {
        Assert.True(DtlsRecord.TryReadHeader(record, out var header));
        var buffer = new byte[record.Length];
        var status = receiver.Open(header, record.Slice(DtlsRecord.HeaderLength, header.Length), buffer, out var length);
        plaintext = buffer[..length];
        return status;
    }

    [Fact]
    public void Seal_then_open_round_trips_and_has_the_dtls12_gcm_layout()
    {
        var (client, server) = Pair(firstSequence: 5);
        using (client)
        using (server)
        {
            var payload = "an sctp packet"u8.ToArray();
            var record = new byte[payload.Length + DtlsRecordProtection.Overhead];
            Assert.Equal(record.Length, client.Seal(DtlsRecord.ApplicationData, payload, record));

            Assert.Equal([23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 5], record[..11]);
            Assert.Equal(payload.Length + 24, (record[11] << 8) | record[12]);
            Assert.Equal([0, 1, 0, 0, 0, 0, 0, 5], record[13..21]); // explicit nonce = epoch || seq
            Assert.Equal(6UL, client.NextWriteSequence);

            Assert.Equal(DtlsOpenStatus.Ok, Open(server, record, out var plaintext));
            Assert.Equal(payload, plaintext);
        }
    }

    [Fact]
    public void Tampering_replay_and_wrong_epoch_are_rejected()
    {
        var (client, server) = Pair();
        using (client)
        using (server)
        {
            var record = new byte[10 + DtlsRecordProtection.Overhead];
            client.Seal(DtlsRecord.ApplicationData, new byte[10], record);

            var tampered = (byte[])record.Clone();
            tampered[25] ^= 1;
            Assert.Equal(DtlsOpenStatus.AuthenticationFailed, Open(server, tampered, out _));
            var otherType = (byte[])record.Clone();
            otherType[0] = DtlsRecord.Alert; // the content type is authenticated through the AAD
            Assert.Equal(DtlsOpenStatus.AuthenticationFailed, Open(server, otherType, out _));

            Assert.Equal(DtlsOpenStatus.Ok, Open(server, record, out _));
            Assert.Equal(DtlsOpenStatus.Replayed, Open(server, record, out _));

            var epoch2 = (byte[])record.Clone();
            epoch2[4] = 2;
            Assert.Equal(DtlsOpenStatus.WrongEpoch, Open(server, epoch2, out _));

            // Our own direction's key cannot open our records (no reflection attacks).
            Assert.NotEqual(DtlsOpenStatus.Ok, Open(client, record, out _));
        }
    }

    [Fact]
    public void Replay_window_accepts_reordering_within_64_and_rejects_older()
    {
        var window = default(DtlsReplayWindow);
        Assert.True(window.IsAcceptable(10));
        window.Mark(10);
        window.Mark(100);
        Assert.False(window.IsAcceptable(100));
        Assert.True(window.IsAcceptable(99));
        Assert.True(window.IsAcceptable(37));
        Assert.False(window.IsAcceptable(36)); // 64 behind
        Assert.False(window.IsAcceptable(10));
        window.Mark(99);
        Assert.False(window.IsAcceptable(99));
        Assert.True(window.IsAcceptable(1000));
        window.Mark(1000);
        Assert.False(window.IsAcceptable(100));
    }

    [Fact]
    public void Record_header_parser_rejects_what_is_not_dtls()
    {
        Assert.False(DtlsRecord.TryReadHeader([], out _));
        Assert.False(DtlsRecord.TryReadHeader(new byte[12], out _));
        Assert.False(DtlsRecord.TryReadHeader([0, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], out _)); // STUN-range first byte
        Assert.False(DtlsRecord.TryReadHeader([22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], out _)); // TLS version
        Assert.False(DtlsRecord.TryReadHeader([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], out _)); // length past the end
        Assert.True(DtlsRecord.TryReadHeader([22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0], out var header));
        Assert.Equal(9UL, header.SequenceNumber);
    }
}
