using System.Reflection;
using System.Runtime.CompilerServices;

namespace WebRtcCdn.Bench.Edge;

/// <summary>
/// Where the memory of a connected peer goes, without dotnet-gcdump (not installed here): walks the object graph
/// from a root by reflection and estimates each object's size from its fields (64-bit layout: 16-byte header,
/// 8-byte alignment). A <see cref="Snapshot"/> taken with no peers is subtracted from one taken with N peers, so
/// what is left is what the peers keep alive through the root, by type. Estimates, not the GC's exact figures:
/// the GC heap delta next to it is the measurement, this is the explanation.
/// </summary>
internal static class RetainedObjects
{
    private static readonly Dictionary<Type, FieldInfo[]> Fields = [];
    private static readonly Dictionary<Type, long> ValueSizes = [];

    /// <summary>Every object reachable from <paramref name="root"/>, by identity, with its estimated size.</summary>
    public static Dictionary<object, long> Snapshot(object root)
    {
        var seen = new Dictionary<object, long>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<object>();
        stack.Push(root);
        while (stack.TryPop(out var o))
        {
            if (seen.ContainsKey(o) || Skip(o.GetType()))
            {
                continue;
            }

            seen[o] = SizeOf(o);
            foreach (var child in Children(o))
            {
                if (!seen.ContainsKey(child))
                {
                    stack.Push(child);
                }
            }
        }

        return seen;
    }

    /// <summary>The objects of <paramref name="after"/> that <paramref name="before"/> does not hold, summed by type, largest first.</summary>
    public static List<(string Type, int Count, long Bytes)> Difference(Dictionary<object, long> before, Dictionary<object, long> after) =>
        after.Where(kv => !before.ContainsKey(kv.Key))
            .GroupBy(kv => Name(kv.Key.GetType()))
            .Select(g => (g.Key, g.Count(), g.Sum(kv => kv.Value)))
            .OrderByDescending(t => t.Item3)
            .ToList();

    /// <summary>The arrays of at least <paramref name="minBytes"/> in <paramref name="after"/> only, by type and length.</summary>
    public static List<(string Array, int Count)> LargeArrays(Dictionary<object, long> before, Dictionary<object, long> after, long minBytes) =>
        after.Where(kv => kv.Value >= minBytes && kv.Key is Array && !before.ContainsKey(kv.Key))
            .GroupBy(kv => $"{Name(kv.Key.GetType().GetElementType()!)}[{((Array)kv.Key).LongLength}] ({kv.Value} B)")
            .Select(g => (g.Key, g.Count()))
            .OrderByDescending(t => t.Item2)
            .ToList();

    private static bool Skip(Type t) =>
        typeof(MemberInfo).IsAssignableFrom(t) || typeof(Module).IsAssignableFrom(t) || typeof(Assembly).IsAssignableFrom(t) || t.IsPointer;

    private static string Name(Type t)
    {
        if (!t.IsGenericType)
        {
            return t.IsArray ? Name(t.GetElementType()!) + "[]" : t.Name;
        }

        var name = t.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return (tick > 0 ? name[..tick] : name) + "<" + string.Join(",", t.GetGenericArguments().Select(Name)) + ">";
    }

    private static IEnumerable<object> Children(object o)
    {
        var t = o.GetType();
        if (t.IsArray)
        {
            var element = t.GetElementType()!;
            if (element.IsPrimitive || element.IsPointer || element.IsEnum)
            {
                yield break;
            }

            foreach (var item in (Array)o)
            {
                if (item is null)
                {
                    continue;
                }

                if (element.IsValueType)
                {
                    foreach (var c in ValueChildren(item))
                    {
                        yield return c;
                    }
                }
                else
                {
                    yield return item;
                }
            }

            yield break;
        }

        foreach (var c in FieldChildren(o, t))
        {
            yield return c;
        }
    }

    private static IEnumerable<object> FieldChildren(object o, Type t)
    {
        foreach (var f in FieldsOf(t))
        {
            // The runtime's timer queue links every timer of the process: following it would reach every peer from any one.
            if (t.Name == "TimerQueueTimer" && f.Name is "_next" or "_prev" or "_associatedTimerQueue")
            {
                continue;
            }

            var ft = f.FieldType;
            if (ft.IsPrimitive || ft.IsPointer || ft.IsEnum || ft.IsByRefLike || ft == typeof(IntPtr) || ft == typeof(UIntPtr))
            {
                continue;
            }

            object? value;
            try
            {
                value = f.GetValue(o);
            }
            catch (Exception e) when (e is NotSupportedException or FieldAccessException or ArgumentException)
            {
                continue;
            }

            if (value is null)
            {
                continue;
            }

            if (ft.IsValueType)
            {
                foreach (var c in ValueChildren(value))
                {
                    yield return c;
                }
            }
            else
            {
                yield return value;
            }
        }
    }

    private static IEnumerable<object> ValueChildren(object boxed) => FieldChildren(boxed, boxed.GetType());

    private static FieldInfo[] FieldsOf(Type t)
    {
        lock (Fields)
        {
            if (Fields.TryGetValue(t, out var cached))
            {
                return cached;
            }
        }

        var list = new List<FieldInfo>();
        for (var c = t; c is not null; c = c.BaseType)
        {
            list.AddRange(c.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly));
        }

        var result = list.ToArray();
        lock (Fields)
        {
            Fields[t] = result;
        }

        return result;
    }

    private static long SizeOf(object o)
    {
        switch (o)
        {
            case string s:
                return Align(22 + (2L * s.Length));
            case Array a:
                var element = a.GetType().GetElementType()!;
                var each = element.IsValueType ? ValueSize(element) : 8;
                return Align(24 + (each * a.LongLength));
            default:
                var fields = FieldsOf(o.GetType()).Sum(f => f.FieldType.IsValueType ? ValueSize(f.FieldType) : 8);
                return Math.Max(24, Align(16 + fields));
        }
    }

    private static long ValueSize(Type t)
    {
        if (t.IsEnum)
        {
            t = Enum.GetUnderlyingType(t);
        }

        if (t.IsPrimitive || t == typeof(IntPtr) || t == typeof(UIntPtr))
        {
            return t == typeof(bool) || t == typeof(byte) || t == typeof(sbyte) ? 1 : t == typeof(short) || t == typeof(ushort) || t == typeof(char) ? 2 : t == typeof(int) || t == typeof(uint) || t == typeof(float) ? 4 : 8;
        }

        lock (ValueSizes)
        {
            if (ValueSizes.TryGetValue(t, out var cached))
            {
                return cached;
            }
        }

        long size;
        try
        {
            size = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or TargetInvocationException)
        {
            size = FieldsOf(t).Sum(f => f.FieldType.IsValueType ? ValueSize(f.FieldType) : 8);
        }

        lock (ValueSizes)
        {
            ValueSizes[t] = size;
        }

        return size;
    }

    private static long Align(long n) => (n + 7) & ~7L;
}
