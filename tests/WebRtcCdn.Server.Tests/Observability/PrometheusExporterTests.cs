using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Server.Observability;

namespace WebRtcCdn.Server.Tests.Observability;

public sealed class PrometheusExporterTests
{
    [Fact]
    public void Counters_sum_per_tag_set_whatever_the_tag_order_and_gauges_report_their_last_value()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(meters);
        var meter = meters.Create("WebRtcCdn.Test");
        var relays = meter.CreateCounter<long>("test_relays", description: "relays");
        var level = 7L;
        meter.CreateObservableGauge("test_level", () => level, description: "level");

        for (var i = 0; i < 1000; i++)
        {
            relays.Add(1, new KeyValuePair<string, object?>("endpoint", "signaling"), new KeyValuePair<string, object?>("type", "offer"));
        }

        // The same labels in the other order are the same Prometheus series.
        relays.Add(5, new KeyValuePair<string, object?>("type", "offer"), new KeyValuePair<string, object?>("endpoint", "signaling"));
        relays.Add(2, new KeyValuePair<string, object?>("endpoint", "announce"), new KeyValuePair<string, object?>("type", "answer"));
        relays.Add(3);
        relays.Add(1, new KeyValuePair<string, object?>("a", 1), new KeyValuePair<string, object?>("b", 2), new KeyValuePair<string, object?>("c", 3), new KeyValuePair<string, object?>("d", "x\"y"));
        relays.Add(1, new KeyValuePair<string, object?>("a", 1), new KeyValuePair<string, object?>("b", 2), new KeyValuePair<string, object?>("c", 3), new KeyValuePair<string, object?>("d", "x\"y"));

        var text = exporter.Scrape();
        Assert.Contains("test_relays_total{endpoint=\"signaling\",type=\"offer\"} 1005\n", text, StringComparison.Ordinal);
        Assert.Contains("test_relays_total{endpoint=\"announce\",type=\"answer\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("test_relays_total 3\n", text, StringComparison.Ordinal);
        Assert.Contains("test_relays_total{a=\"1\",b=\"2\",c=\"3\",d=\"x\\\"y\"} 2\n", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("test_relays_total{endpoint=\"signaling\"", StringComparison.Ordinal));
        Assert.Contains("test_level 7\n", text, StringComparison.Ordinal);

        level = 9;
        Assert.Contains("test_level 9\n", exporter.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void Counting_from_many_threads_loses_nothing()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(meters);
        var counter = meters.Create("WebRtcCdn.Test").CreateCounter<long>("test_hits");
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                counter.Add(1, new KeyValuePair<string, object?>("endpoint", "signaling"));
            }
        });

        Assert.Contains("test_hits_total{endpoint=\"signaling\"} 40000\n", exporter.Scrape(), StringComparison.Ordinal);
    }
}
