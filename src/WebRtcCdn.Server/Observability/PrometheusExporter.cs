using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace WebRtcCdn.Server.Observability;

/// <summary>
/// Collects every WebRtcCdn meter's measurements with a <see cref="MeterListener"/> and renders them in the
/// Prometheus text exposition format (version 0.0.4): counters as <c>name_total</c>, gauges as their last value.
/// Written here rather than taken from prometheus-net: the format is small and this keeps the dependency list short.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), double> _values = new();
    private readonly Lock _scrapeLock = new();

    /// <summary>Exports the WebRtcCdn meters created by this host's <paramref name="meters"/> (not other hosts' in the same process).</summary>
    public PrometheusExporter(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("WebRtcCdn", StringComparison.Ordinal) && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public string Scrape()
    {
        lock (_scrapeLock)
        {
            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var group in _values.ToArray().GroupBy(kv => kv.Key.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
            {
                var instrument = group.Key;
                var counter = instrument is Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long>;
                var name = Sanitize(instrument.Name) + (counter ? "_total" : string.Empty);
                text.Append("# HELP ").Append(name).Append(' ').Append(Escape(instrument.Description ?? instrument.Name)).Append('\n');
                text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
                foreach (var (key, value) in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
                {
                    text.Append(name).Append(key.Labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                }
            }

            return text.ToString();
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        if (instrument.IsObservable || instrument is UpDownCounter<long>)
        {
            _values[(instrument, labels)] = value;
        }
        else
        {
            _values.AddOrUpdate((instrument, labels), value, (_, old) => old + value);
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var sorted = tags.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var s = new StringBuilder("{");
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0)
            {
                s.Append(',');
            }

            s.Append(Sanitize(sorted[i].Key)).Append("=\"").Append(Escape(Convert.ToString(sorted[i].Value, CultureInfo.InvariantCulture) ?? string.Empty)).Append('"');
        }

        return s.Append('}').ToString();
    }

    /// <summary>Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]*.</summary>
    private static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or ':') || (i == 0 && char.IsAsciiDigit(c)))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public void Dispose() => _listener.Dispose();
}
