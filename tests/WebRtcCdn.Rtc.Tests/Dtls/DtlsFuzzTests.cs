using CsCheck;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>Random and mutated datagrams after the handshake never throw and never break the association.</summary>
public class DtlsFuzzTests
{
    [Fact]
    public void Random_and_mutated_datagrams_are_dropped_and_the_association_survives()
    {
        using var link = new DtlsTestLink();
        link.Start();
        Assert.True(link.RunUntilBothConnected());
        Assert.True(link.Client.SendApplicationData("template"u8));
        var template = link.Client.PollTransmit()!.Value.ToArray();

        Gen.Byte.Array[0, 1300].Sample(bytes => link.Server.HandleDatagram(bytes, link.Now), iter: 2000);
        Gen.Select(Gen.Int[0, template.Length - 1], Gen.Byte, Gen.Int[0, template.Length]).Sample((at, value, length) =>
        {
            var mutated = (byte[])template.Clone();
            mutated[at] = value;
            link.Server.HandleDatagram(mutated.AsSpan(0, length), link.Now);
        }, iter: 2000);

        link.Pump();
        Assert.Equal(DtlsState.Connected, link.Server.State);
        // At most the template itself (unmutated by chance) was delivered, once: the replay window stops repeats.
        Assert.True(link.ServerEvents.Count(e => e.Kind == DtlsEventKind.ApplicationData) <= 1);
        Assert.True(link.Client.SendApplicationData("after"u8));
        link.Pump();
        Assert.Equal("after"u8.ToArray(), link.ServerEvents.Last(e => e.Kind == DtlsEventKind.ApplicationData).Data);
    }
}
