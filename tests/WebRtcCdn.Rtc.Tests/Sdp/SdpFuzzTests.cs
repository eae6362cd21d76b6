using CsCheck;
using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Rtc.Tests.Sdp;

/// <summary>Whatever arrives over signalling, the parser answers with a description or an SdpException, nothing else.</summary>
public class SdpFuzzTests
{
    private static void ParseOrSdpException(string text)
    {
        try
        {
            DataChannelDescription.Parse(text);
        }
        catch (SdpException)
        {
        }
    }

    [Fact]
    public void Random_text_only_ever_gives_sdp_exceptions()
    {
        Gen.String.Sample(ParseOrSdpException, iter: 2000);
    }

    [Fact]
    public void Mutated_real_samples_only_ever_give_sdp_exceptions()
    {
        string[] samples = [SdpSamples.ChromeOffer, SdpSamples.FirefoxOffer, SdpSamples.PionLiteAnswer, SdpSamples.LibDataChannelOffer, SdpSamples.LegacyLibWebRtcOffer];
        var mutation = Gen.Select(Gen.Int[0, samples.Length - 1], Gen.Int[0, 2000], Gen.Int[0, 40], Gen.String[0, 12]);
        mutation.Sample((index, at, cut, insert) =>
        {
            var sample = samples[index];
            var position = at % (sample.Length + 1);
            var removed = Math.Min(cut, sample.Length - position);
            ParseOrSdpException(sample.Remove(position, removed).Insert(position, insert));
        }, iter: 3000);
    }
}
