namespace WebRtcCdn.Core.Wire;

/// <summary>Why a frame could not be decoded. The text names (see <see cref="WireErrors.Name"/>) are the shared test vectors' "error" values.</summary>
public enum WireError
{
    None = 0,

    /// <summary>Shorter than its type's fixed fields (or than the 2-byte header).</summary>
    Truncated,

    /// <summary>Longer than <see cref="WireCodec.MaxFrameSize"/>.</summary>
    TooLarge,

    /// <summary>The version byte is not one this implementation speaks.</summary>
    UnsupportedVersion,

    /// <summary>The type byte is not a known frame type.</summary>
    UnknownType,

    /// <summary>A fixed-size frame with extra bytes, or a bitfield whose length does not match its chunk count.</summary>
    BadLength,

    /// <summary>A field is outside its allowed range (zero length, index too large, unknown reason, set padding bits).</summary>
    InvalidField,
}

public static class WireErrors
{
    public static string Name(WireError error) => error switch
    {
        WireError.None => "none",
        WireError.Truncated => "truncated",
        WireError.TooLarge => "too_large",
        WireError.UnsupportedVersion => "unsupported_version",
        WireError.UnknownType => "unknown_type",
        WireError.BadLength => "bad_length",
        WireError.InvalidField => "invalid_field",
        _ => "unknown",
    };
}
