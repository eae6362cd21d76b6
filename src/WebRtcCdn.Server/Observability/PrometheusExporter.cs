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
    /// <summary>
    /// One entry per instrument and tag set, found by the tags themselves: a measurement (two per relayed signaling
    /// message) then allocates nothing; the label text is built once, when a series first appears.
    /// </summary>
    private readonly ConcurrentDictionary<SeriesKey, Series> _series = new();
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
            foreach (var group in _series.Values.ToArray().GroupBy(s => s.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
            {
                var instrument = group.Key;
                var counter = instrument is Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long>;
                var name = Sanitize(instrument.Name) + (counter ? "_total" : string.Empty);
                text.Append("# HELP ").Append(name).Append(' ').Append(Escape(instrument.Description ?? instrument.Name)).Append('\n');
                text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
                // The same labels given in another order are another key but one Prometheus series: summed (gauges: last).
                foreach (var series in group.GroupBy(s => s.Labels, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    var value = instrument.IsObservable ? series.Last().Read() : series.Sum(s => s.Read());
                    text.Append(name).Append(series.Key).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                }
            }

            return text.ToString();
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = SeriesKey.Of(instrument, tags);
        if (!_series.TryGetValue(key, out var series))
        {
            series = _series.GetOrAdd(key, new Series(instrument, Labels(tags)));
        }

        // Observable instruments report their current value; counters and up-down counters report deltas.
        if (instrument.IsObservable)
        {
            series.Set(value);
        }
        else
        {
            series.Add(value);
        }
    }

    /// <summary>
    /// An instrument and up to three tags as given (every instrument here has at most two); more tags fall back to
    /// the label text as the key (allocates, but no such instrument exists today).
    /// </summary>
    private readonly record struct SeriesKey(Instrument Instrument, string? Key0, object? Value0, string? Key1, object? Value1, string? Key2, object? Value2, string? Overflow)
    {
        // Fields rather than KeyValuePair: KeyValuePair has no IEquatable, so comparing it would box.
        public static SeriesKey Of(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags) => tags.Length switch
        {
            0 => new(instrument, null, null, null, null, null, null, null),
            1 => new(instrument, tags[0].Key, tags[0].Value, null, null, null, null, null),
            2 => new(instrument, tags[0].Key, tags[0].Value, tags[1].Key, tags[1].Value, null, null, null),
            3 => new(instrument, tags[0].Key, tags[0].Value, tags[1].Key, tags[1].Value, tags[2].Key, tags[2].Value, null),
            _ => new(instrument, null, null, null, null, null, null, Labels(tags)),
        };
    }

    /// <summary>One series' value; updated lock-free from whichever thread records a measurement.</summary>
    private sealed class Series(Instrument instrument, string labels)
    {
        private double _value;

        public Instrument Instrument { get; } = instrument;

        public string Labels { get; } = labels;

        public double Read() => Volatile.Read(ref _value);

        public void Set(double value) => Volatile.Write(ref _value, value);

        public void Add(double delta)
        {
            var current = Volatile.Read(ref _value);
            while (true)
            {
                var seen = Interlocked.CompareExchange(ref _value, current + delta, current);
                if (seen.Equals(current))
                {
                    return;
                }

                current = seen;
            }
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
