namespace MultiLora.Data.Errors;

/// <summary>The kinds of bad record the data pipeline recognises; each is counted separately under on_error: skip.</summary>
public enum DataErrorKind
{
    /// <summary>A record that cannot be parsed (broken JSON line, wrong field types).</summary>
    MalformedRecord,
    /// <summary>A record without any conversation turns.</summary>
    NoConversations,
    /// <summary>Turns not in human/gpt alternation (after an optional leading system turn).</summary>
    BadTurnOrder,
    /// <summary>A text-only record containing the image placeholder, or an image record with more than one.</summary>
    PlaceholderMismatch,
    /// <summary>The image file named by the record does not exist.</summary>
    MissingImage,
    /// <summary>The image bytes could not be decoded.</summary>
    UndecodableImage,
    /// <summary>The encoder threw on the sample (for example an image placeholder it cannot place).</summary>
    EncoderRejected,
    /// <summary>The encoded sample exceeds max_length.</summary>
    TooLong,
}
