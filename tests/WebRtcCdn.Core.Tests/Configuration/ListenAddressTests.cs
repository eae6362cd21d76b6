using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080)]
    [InlineData(":8080", "", 8080)]
    [InlineData("0.0.0.0:443", "0.0.0.0", 443)]
    [InlineData("[::1]:9000", "::1", 9000)]
    [InlineData("localhost:80", "localhost", 80)]
    public void Parses_host_and_port(string text, string host, int port)
    {
        var address = ListenAddress.Parse(text);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
    }

    [Theory]
    [InlineData("8080", "missing port")]
    [InlineData("127.0.0.1:http", "is not a number")]
    [InlineData("127.0.0.1:70000", "is not a number from 0 to 65535")]
    [InlineData("::1:8080", "brackets")]
    [InlineData("example.com:8080", "must be an IP address")]
    [InlineData("[nope]:80", "not an IPv6 address")]
    public void Rejects_bad_addresses(string text, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => ListenAddress.Parse(text));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_is_loopback_8080() => Assert.Equal("127.0.0.1:8080", ListenAddress.Default.ToString());
}
